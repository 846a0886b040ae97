"""Tessera gateway: the one public entry; routes to identity and session."""
