"""The identity rules, pure: no I/O, no framework, so each decision is tested without a server."""
