"""Verifying Tessera tokens in any service: signature and claims offline, revocation in Redis."""

from tessera_shared.tokens.bearer import (
    INVALID_TOKEN_CHALLENGE,
    MISSING_TOKEN_CHALLENGE,
    bearer_token,
)
from tessera_shared.tokens.jwks import JwksCache
from tessera_shared.tokens.revocation import RevocationCheck
from tessera_shared.tokens.verifier import AccessTokenVerifier, token_invalid

__all__ = [
    "INVALID_TOKEN_CHALLENGE",
    "MISSING_TOKEN_CHALLENGE",
    "AccessTokenVerifier",
    "JwksCache",
    "RevocationCheck",
    "bearer_token",
    "token_invalid",
]
