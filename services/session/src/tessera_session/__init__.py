"""Tessera session: access tokens, refresh-token families in Redis, JWKS."""
