"""Offline verification of Tessera access and MFA challenge tokens (see `contracts.tokens`).

The algorithm is pinned to EdDSA whatever the header claims, so neither `alg: none` nor an HMAC
keyed with the public key passes; the header `typ` keeps access and challenge tokens apart.
Any refusal is `TesseraError(Code.TOKEN_INVALID)`, whatever the reason: the caller learns nothing
a forger could use. The reason is logged at debug level, never the token. Parsing and checks
are `tessera_verify`'s (`jws`), the same package services outside the suite verify tokens with.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_shared.contracts.tokens import (
    ACCESS_TYPE,
    CHALLENGE_TYPE,
    AccessClaims,
    ChallengeClaims,
)
from tessera_shared.errors import Code, TesseraError
from tessera_shared.tokens import jws
from tessera_shared.tokens.bearer import INVALID_TOKEN_CHALLENGE
from tessera_shared.tokens.jwks import JwksCache
from tessera_verify.core import MAX_KID_LENGTH as MAX_KID_LENGTH
from tessera_verify.core import MAX_TOKEN_LENGTH as MAX_TOKEN_LENGTH
from tessera_verify.core import checked_kid
from tessera_verify.errors import VerificationError

log = logging.getLogger("tessera.tokens")

Claims = TypeVar("Claims", AccessClaims, ChallengeClaims)


def token_invalid() -> TesseraError:
    """The refusal of a token that is forged, expired, of the wrong type, or whose session ended."""
    return TesseraError(Code.TOKEN_INVALID, headers={"www-authenticate": INVALID_TOKEN_CHALLENGE})


class _Verified:
    """An access token verified before: its claims, and the key (by kid) that verified it."""

    __slots__ = ("claims", "key", "kid")

    def __init__(self, kid: str, key: Ed25519PublicKey, claims: AccessClaims) -> None:
        self.kid = kid
        self.key = key
        self.claims = claims


class AccessTokenVerifier:
    """Verifies tokens signed by the session service: signature, type, issuer, audience, times.

    `cache_size` > 0 keeps that many verified access tokens (the exact string) with their
    claims, so a client presenting its token again skips the signature check (a profile of the
    gateway showed Ed25519 and parsing at ~12 % of a request). A cached token counts only while
    unexpired and while the key set still holds the very key that verified it: a key removed or
    replaced at a JWKS refresh drops it. Revocation is not cached (`RevocationCheck`).
    `clock`: seconds since the epoch, for tests; the system's by default.
    """

    def __init__(
        self,
        jwks: JwksCache,
        issuer: str,
        audience: str,
        leeway_s: float = 10.0,
        *,
        cache_size: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        self._cache_size = cache_size
        self._cache: dict[str, _Verified] = {}
        self._clock = clock

    async def verify(self, token: str) -> AccessClaims:
        """The claims of a valid access token (`typ: at+jwt`).

        Raises `TesseraError(Code.TOKEN_INVALID)`, or `(Code.SERVICE_UNAVAILABLE)` when the key set
        cannot be fetched. Revocation is `RevocationCheck`'s job.
        """
        if self._cache_size <= 0:
            return (await self._verify(token, ACCESS_TYPE, AccessClaims))[2]
        cached = self._cache.get(token)
        if cached is not None:
            if (
                cached.claims.exp + self._leeway_s >= self._now()
                and await self._jwks.key(cached.kid) is cached.key
            ):
                return cached.claims
            self._cache.pop(token, None)
        kid, key, claims = await self._verify(token, ACCESS_TYPE, AccessClaims)
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))  # the oldest entry
        self._cache[token] = _Verified(kid, key, claims)
        return claims

    def _now(self) -> float:
        """Seconds since the epoch: `clock` (tests) or the system's."""
        return time.time() if self._clock is None else self._clock()

    async def verify_challenge(self, token: str) -> ChallengeClaims:
        """The claims of a valid MFA challenge token (`typ: mfa-challenge+jwt`); as `verify`."""
        return (await self._verify(token, CHALLENGE_TYPE, ChallengeClaims))[2]

    async def _verify(
        self, token: str, typ: str, claims: type[Claims]
    ) -> tuple[str, Ed25519PublicKey, Claims]:
        """The kid and key that verified `token`, and its claims."""
        try:
            compact = jws.split(token)
            kid = checked_kid(compact.header, typ)
            key = await self._jwks.key(kid)
            if key is None:
                raise VerificationError("unknown_key", "no key with this kid")
            checked = jws.verify(
                compact,
                key,
                claims,
                issuer=self._issuer,
                audience=self._audience,
                leeway_s=self._leeway_s,
                now=self._now(),
            )
        except VerificationError as exc:
            log.debug("token refused: %s", exc)
            raise token_invalid() from None
        return kid, key, checked
