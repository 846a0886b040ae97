"""Ed25519 public keys by `kid`: fetched from a JWKS URL and cached, or fixed with `from_keys`.

Caching rules (the same for `KeySet`, `AsyncKeySet` and `tessera_shared.tokens.JwksCache`):

- Nothing is fetched before the first token. The key set is then kept for the `max-age` of the
  endpoint's `Cache-Control`, bounded to `min_age_s`..`max_age_s`, or `default_age_s` when the
  answer has none (`no-store`/`no-cache` count as 0, so `min_age_s`).
- A `kid` not in the set refetches at once, but at most once per `min_refresh_s` since the last
  fetch, so a flood of made-up kids cannot hammer the endpoint. Once the set is older than its
  age, the next token refetches it: a key removed from the JWKS stops verifying.
- Rotation without failures: publish the new key, and sign with it once verifiers have
  refetched (after the JWKS's max-age); keep the old key published until its last tokens
  expire. A token whose new kid comes sooner still refetches at once, unless the last fetch was
  less than `min_refresh_s` ago: then it is refused (`unknown_key`) for at most that long.
- One fetch at a time: others wanting a fetch wait for it (`threading.Lock` in `KeySet`,
  `asyncio.Lock` in `AsyncKeySet`) and then use its result. Tokens whose kid is in a set still
  fresh never wait.
- A failed fetch is retried no sooner than `retry_failed_s` later. Meanwhile, and while the
  endpoint stays down, keys already known keep verifying; only a kid never seen raises
  `VerificationError("unavailable")`.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_verify import _http
from tessera_verify.core import jwks_keys
from tessera_verify.errors import VerificationError

log = logging.getLogger("tessera_verify")

Keys = dict[str, Ed25519PublicKey]


def fetch_jwks(
    url: str, timeout_s: float, *, default_age_s: float, min_age_s: float, max_age_s: float
) -> tuple[Keys, float]:
    """The Ed25519 keys at `url` and how long to keep them; raises `_http.FetchError`."""
    document, cache_control = _http.get_json(url, timeout_s)
    try:
        keys = jwks_keys(document)
    except ValueError as exc:
        raise _http.FetchError(str(exc)) from None
    age = _http.max_age(cache_control, default_s=default_age_s, min_s=min_age_s, max_s=max_age_s)
    return keys, age


class _State:
    """The cache's bookkeeping, without I/O or locks: shared by the sync and async key sets."""

    __slots__ = (
        "clock",
        "failed_at",
        "fetched_at",
        "fresh_until",
        "keys",
        "min_refresh_s",
        "retry_failed_s",
    )

    def __init__(
        self, min_refresh_s: float, retry_failed_s: float, clock: Callable[[], float]
    ) -> None:
        self.keys: Keys = {}
        self.fetched_at: float | None = None
        self.failed_at: float | None = None
        """Time of the last attempt if it failed; None once an attempt succeeds."""
        self.fresh_until = float("-inf")
        self.min_refresh_s = min_refresh_s
        self.retry_failed_s = retry_failed_s
        self.clock = clock

    def fresh(self, kid: str) -> Ed25519PublicKey | None:
        """The key of `kid` if the set has it and is young enough to use without asking."""
        key = self.keys.get(kid)
        if key is not None and self.clock() < self.fresh_until:
            return key
        return None

    def may_fetch(self) -> bool:
        now = self.clock()
        if self.failed_at is not None:
            return now - self.failed_at >= self.retry_failed_s
        return (
            self.fetched_at is None
            or now >= self.fresh_until  # aged out: its age already spaces the fetches
            or now - self.fetched_at >= self.min_refresh_s
        )

    def fetched(self, keys: Keys, age_s: float) -> None:
        now = self.clock()
        self.keys = keys
        self.fetched_at = now
        self.fresh_until = now + age_s
        self.failed_at = None

    def failed(self, kid: str, reason: str) -> Ed25519PublicKey | None:
        """After a failed fetch: a key known from before, else `unavailable`."""
        log.warning("JWKS cannot be fetched: %s", reason)
        self.failed_at = self.clock()
        return self.known(kid)

    def without_fetch(self, kid: str) -> Ed25519PublicKey | None:
        """No fetch allowed now: the key known from before; `unavailable` if the last failed."""
        if self.failed_at is not None and kid not in self.keys:
            raise VerificationError("unavailable", "the key set cannot be fetched")
        return self.keys.get(kid)

    def known(self, kid: str) -> Ed25519PublicKey | None:
        key = self.keys.get(kid)
        if key is None:
            raise VerificationError("unavailable", "the key set cannot be fetched")
        return key


class _Options:
    __slots__ = ("default_age_s", "max_age_s", "min_age_s", "timeout_s", "url")

    def __init__(
        self,
        url: str,
        timeout_s: float,
        default_age_s: float,
        min_age_s: float,
        max_age_s: float,
    ) -> None:
        if not 0 <= min_age_s <= max_age_s:
            raise ValueError("JWKS ages must satisfy 0 <= min_age_s <= max_age_s")
        self.url = _http.check_url(url, "jwks_url")
        self.timeout_s = timeout_s
        self.default_age_s = default_age_s
        self.min_age_s = min_age_s
        self.max_age_s = max_age_s

    def fetch(self) -> tuple[Keys, float]:
        return fetch_jwks(
            self.url,
            self.timeout_s,
            default_age_s=self.default_age_s,
            min_age_s=self.min_age_s,
            max_age_s=self.max_age_s,
        )


def _static(keys: Mapping[str, Ed25519PublicKey]) -> Keys:
    for kid, key in keys.items():
        if not isinstance(key, Ed25519PublicKey):
            raise TypeError(f"key {kid!r} is not an Ed25519 public key")
    return dict(keys)


class KeySet:
    """Keys for `Verifier`: blocking fetches (urllib) under a `threading.Lock`.

    `url` None: exactly the keys of `from_keys`, never fetched. `clock`: monotonic seconds.
    """

    def __init__(
        self,
        url: str | None,
        *,
        timeout_s: float = 2.0,
        min_refresh_s: float = 30.0,
        retry_failed_s: float = 1.0,
        default_age_s: float = 300.0,
        min_age_s: float = 60.0,
        max_age_s: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._options = (
            None if url is None else _Options(url, timeout_s, default_age_s, min_age_s, max_age_s)
        )
        self._state = _State(min_refresh_s, retry_failed_s, clock)
        self._lock = threading.Lock()

    @classmethod
    def from_keys(cls, keys: Mapping[str, Ed25519PublicKey]) -> Self:
        """A key set that never fetches: exactly these keys."""
        key_set = cls(None)
        key_set._state.keys = _static(keys)
        return key_set

    def key(self, kid: str) -> Ed25519PublicKey | None:
        """The key of `kid`, or None when the key set has none (even after a refetch).

        Raises `VerificationError("unavailable")` for an unknown kid while the JWKS is down.
        """
        state = self._state
        options = self._options
        if options is None:
            return state.keys.get(kid)
        key = state.fresh(kid)
        if key is not None:
            return key
        with self._lock:
            # Another thread may have refreshed while this one waited for the lock.
            key = state.fresh(kid)
            if key is not None:
                return key
            if not state.may_fetch():
                return state.without_fetch(kid)
            try:
                keys, age = options.fetch()
            except _http.FetchError as exc:
                return state.failed(kid, str(exc))
            state.fetched(keys, age)
            return keys.get(kid)


class AsyncKeySet:
    """Keys for `AsyncVerifier`: the blocking fetch runs in `asyncio.to_thread` (it is rare)
    under an `asyncio.Lock`; the same rules as `KeySet`."""

    def __init__(
        self,
        url: str | None,
        *,
        timeout_s: float = 2.0,
        min_refresh_s: float = 30.0,
        retry_failed_s: float = 1.0,
        default_age_s: float = 300.0,
        min_age_s: float = 60.0,
        max_age_s: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._options = (
            None if url is None else _Options(url, timeout_s, default_age_s, min_age_s, max_age_s)
        )
        self._state = _State(min_refresh_s, retry_failed_s, clock)
        self._lock = asyncio.Lock()

    @classmethod
    def from_keys(cls, keys: Mapping[str, Ed25519PublicKey]) -> Self:
        """A key set that never fetches: exactly these keys."""
        key_set = cls(None)
        key_set._state.keys = _static(keys)
        return key_set

    def fresh(self, kid: str) -> Ed25519PublicKey | None:
        """The key of `kid` when it is known and needs no fetch (the fast path, no await)."""
        if self._options is None:
            return self._state.keys.get(kid)
        return self._state.fresh(kid)

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        """As `KeySet.key`."""
        state = self._state
        options = self._options
        if options is None:
            return state.keys.get(kid)
        key = state.fresh(kid)
        if key is not None:
            return key
        async with self._lock:
            key = state.fresh(kid)
            if key is not None:
                return key
            if not state.may_fetch():
                return state.without_fetch(kid)
            try:
                keys, age = await asyncio.to_thread(options.fetch)
            except _http.FetchError as exc:
                return state.failed(kid, str(exc))
            state.fetched(keys, age)
            return keys.get(kid)
