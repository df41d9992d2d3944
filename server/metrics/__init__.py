"""What the server counts, and the listener that shows it to Prometheus."""
