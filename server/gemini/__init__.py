"""The Gemini wing: the sans-I/O protocol, the PROXY header, and the trio server over TLS."""
