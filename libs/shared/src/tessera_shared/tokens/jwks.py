"""Public signing keys by `kid`, from the session service's JWKS or given at start.

Fetched lazily and cached. An unknown `kid` refetches at most once per `min_refresh_s`, so a
flood of made-up kids cannot hammer the session service; the whole set is refetched when older
than `max_age_s`, so a key removed from the JWKS stops verifying here too. While the JWKS cannot
be fetched, keys already known keep verifying; only an unknown `kid` then fails (503).
"""

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Callable, Mapping
from typing import Self

import aiohttp
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_shared.errors import Code, TesseraError

log = logging.getLogger("tessera.tokens")

# "EdDSA" is what the session service writes; "Ed25519" is its fully-specified name (RFC 9864).
_ALGORITHMS = frozenset({"EdDSA", "Ed25519"})
_ED25519_KEY_BYTES = 32


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


_decode_jwks = msgspec.json.Decoder(Jwks)


def ed25519_keys(jwks: Jwks) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of `jwks` by kid; other and malformed keys are left out."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.keys:
        usable = (
            jwk.kty == "OKP"
            and jwk.crv == "Ed25519"
            and jwk.kid
            and jwk.x
            and (jwk.alg is None or jwk.alg in _ALGORITHMS)
            and (jwk.use is None or jwk.use == "sig")
        )
        if not usable or jwk.kid is None or jwk.x is None:
            continue
        try:
            raw = base64.urlsafe_b64decode(jwk.x + "=" * (-len(jwk.x) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == _ED25519_KEY_BYTES:
            keys[jwk.kid] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


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
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=http_timeout_s)
        self._min_refresh_s = min_refresh_s
        self._max_age_s = max_age_s
        self._retry_failed_s = retry_failed_s
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        """Time of the last attempt if it failed; None once an attempt succeeds."""
        self._lock = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None

    @classmethod
    def from_keys(cls, keys: Mapping[str, Ed25519PublicKey]) -> Self:
        """A cache that never fetches: exactly these keys (tests, services given a PEM)."""
        for kid, key in keys.items():
            if not isinstance(key, Ed25519PublicKey):
                raise TypeError(f"key {kid!r} is not an Ed25519 public key")
        cache = cls(None)
        cache._keys = dict(keys)
        return cache

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        """The key with this kid, or None when the JWKS has none.

        Raises `TesseraError(Code.SERVICE_UNAVAILABLE)` when the kid is unknown and the JWKS cannot
        be fetched.
        """
        url = self._url
        if url is None:
            return self._keys.get(kid)
        if kid in self._keys and not self._too_old():
            return self._keys[kid]
        async with self._lock:
            # Another request may have refreshed while this one waited for the lock.
            if kid in self._keys and not self._too_old():
                return self._keys[kid]
            if self._may_fetch():
                try:
                    await self._refresh(url)
                except TesseraError:
                    if kid in self._keys:
                        return self._keys[kid]
                    raise
            elif self._failed_at is not None and kid not in self._keys:
                raise TesseraError(Code.SERVICE_UNAVAILABLE)
            return self._keys.get(kid)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _too_old(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age_s

    def _may_fetch(self) -> bool:
        now = self._clock()
        if self._failed_at is not None:
            return now - self._failed_at >= self._retry_failed_s
        return self._fetched_at is None or now - self._fetched_at >= self._min_refresh_s

    async def _refresh(self, url: str) -> None:
        try:
            keys = await self._fetch(url)
        except TesseraError:
            self._failed_at = self._clock()
            raise
        self._keys = keys
        self._fetched_at = self._clock()
        self._failed_at = None

    async def _fetch(self, url: str) -> dict[str, Ed25519PublicKey]:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._http.get(url, headers={"accept": "application/json"}) as answer:
                body = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("JWKS cannot be fetched: %s", type(exc).__name__)
            raise TesseraError(Code.SERVICE_UNAVAILABLE) from exc
        if status != 200:
            log.warning("JWKS answered with status %s", status)
            raise TesseraError(Code.SERVICE_UNAVAILABLE)
        try:
            jwks = _decode_jwks.decode(body)
        except msgspec.DecodeError as exc:
            log.warning("JWKS is not a JSON key set")
            raise TesseraError(Code.SERVICE_UNAVAILABLE) from exc
        return ed25519_keys(jwks)
