"""The mirror wing: HTTP/1.1 rules, link mapping, HTML pages, the server, and the static export."""
