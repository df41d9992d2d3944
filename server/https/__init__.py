"""The mirror over HTTPS of its own: certificates by host name, from the operator or ACME."""
