"""The bearer token of an `Authorization` header, and the `WWW-Authenticate` values (RFC 6750)."""

MISSING_TOKEN_CHALLENGE = "Bearer"
"""`WWW-Authenticate` of a 401 for a request that carried no bearer token."""
INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'
"""`WWW-Authenticate` of a 401 for a token that is malformed, expired, revoked or forged."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Bearer <token>` (scheme in any case); None when absent or another scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
