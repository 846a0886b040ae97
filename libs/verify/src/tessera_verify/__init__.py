"""Verify Tessera access tokens in any Python service.

    from tessera_verify import Verifier, VerificationError
    verifier = Verifier(issuer="tessera", audience="tessera", jwks_url=JWKS_URL)
    claims = verifier.verify(token)     # or: claims = await AsyncVerifier(...).verify(token)

Helpers for web apps: `tessera_verify.asgi` (async dependency), `tessera_verify.wsgi` (WSGI and
Flask decorator). Only dependency: `cryptography`.
"""

from tessera_verify.bearer import (
    INVALID_TOKEN_CHALLENGE,
    MISSING_TOKEN_CHALLENGE,
    RefusalError,
    bearer_token,
)
from tessera_verify.errors import REASONS, Reason, VerificationError
from tessera_verify.verifier import AsyncVerifier, Claims, Verifier

__all__ = [
    "INVALID_TOKEN_CHALLENGE",
    "MISSING_TOKEN_CHALLENGE",
    "REASONS",
    "AsyncVerifier",
    "Claims",
    "Reason",
    "RefusalError",
    "VerificationError",
    "Verifier",
    "bearer_token",
]
