"""Public signing keys by `kid`, from the session service's JWKS or given at start.

`tessera_verify.keys.AsyncKeySet` underneath (the same cache services outside the suite use),
with the set's age fixed at `max_age_s` whatever the JWKS's `Cache-Control` says. Fetched lazily
and cached. An unknown `kid` refetches at most once per `min_refresh_s`, so a flood of made-up
kids cannot hammer the session service; the whole set is refetched when older than `max_age_s`,
so a key removed from the JWKS stops verifying here too. While the JWKS cannot be fetched, keys
already known keep verifying; only an unknown `kid` then fails (503).
"""

import time
from collections.abc import Callable, Mapping
from typing import Self

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_shared.errors import Code, TesseraError
from tessera_verify.core import keys_of
from tessera_verify.errors import VerificationError
from tessera_verify.keys import AsyncKeySet


class Jwk(msgspec.Struct, frozen=True):
    """The members of a JWK this cache reads; others are ignored."""

    kty: str
    kid: str | None = None
    crv: str | None = None
    x: str | None = None
    alg: str | None = None
    use: str | None = None


class Jwks(msgspec.Struct, frozen=True):
    keys: list[Jwk]


def ed25519_keys(jwks: Jwks) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of `jwks` by kid; other and malformed keys are left out."""
    return keys_of(msgspec.to_builtins(jwks.keys))


class JwksCache:
    """Ed25519 public keys by kid: fetched from `url`, or fixed with `from_keys`."""

    def __init__(
        self,
        url: str | None,
        http_timeout_s: float = 2.0,
        min_refresh_s: float = 30.0,
        *,
        max_age_s: float = 600.0,
        retry_failed_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = AsyncKeySet(
            url,
            timeout_s=http_timeout_s,
            min_refresh_s=min_refresh_s,
            retry_failed_s=retry_failed_s,
            default_age_s=max_age_s,
            min_age_s=max_age_s,
            max_age_s=max_age_s,
            clock=clock,
        )

    @classmethod
    def from_keys(cls, keys: Mapping[str, Ed25519PublicKey]) -> Self:
        """A cache that never fetches: exactly these keys (tests, services given a PEM)."""
        cache = cls(None)
        cache._keys = AsyncKeySet.from_keys(keys)
        return cache

    def replace_keys(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        """Exactly these keys from now on: for the owner of a `from_keys` cache that reloads them
        (the session service re-reading its key folder)."""
        self._keys = AsyncKeySet.from_keys(keys)

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        """The key with this kid, or None when the JWKS has none.

        Raises `TesseraError(Code.SERVICE_UNAVAILABLE)` when the kid is unknown and the JWKS cannot
        be fetched.
        """
        key = self._keys.fresh(kid)
        if key is not None:
            return key
        try:
            return await self._keys.key(kid)
        except VerificationError as exc:
            raise TesseraError(Code.SERVICE_UNAVAILABLE) from exc

    async def aclose(self) -> None:
        """Nothing to close (each fetch has its own connection); kept for callers that close."""
