"""API keys of client applications and admin keys of operators, in Redis.

Key layout, under the configurable prefix `P` (`TESSERA_GATEWAY_API_KEY_PREFIX`); the `{apikeys}`
hash tag keeps every key on one slot so the scripts below stay valid on a Redis Cluster:

    P{apikeys}:hash:<sha256 hex>   string  key id of the key with this hash (the lookup index)
    P{apikeys}:key:<key id>        hash    name, created_at, hash, kind, scopes (admin keys),
                                           revoked_at (once revoked)
    P{apikeys}:ids                 set     every key id ever issued, both kinds, for listing

`kind` is `client` or `admin`; records written before admin keys existed have none and are
clients'. `scopes` are an admin key's `AdminScope` values separated by spaces; a scope this
version does not know is left out when read (less power, never more).

These keys have NO TTL, the one exception to "every Redis key has a TTL": API keys are
long-lived credentials that end only by revocation, and revoked ones stay listed as a record.
Times are ISO 8601 in UTC. The plain key is never stored.
"""

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from tessera_gateway.api_keys import (
    ApiKeyRecord,
    ApiKeyStoreUnavailableError,
    KeyKind,
    check_name,
    check_scopes,
    hash_key,
    hash_matches,
    is_well_formed,
    key_id_of,
    new_key,
    scopes_text,
)
from tessera_shared.contracts.admin import AdminScope
from tessera_shared.redis import UNAVAILABLE, RedisClient

# Redis unreachable or too slow: the caller answers 503 rather than guessing.
log = logging.getLogger("tessera.gateway.api_keys")

_UNAVAILABLE: tuple[type[Exception], ...] = (*UNAVAILABLE, OSError)

# KEYS: record, index, ids. ARGV: key id, name, created_at, hash, kind, scopes ('' for none).
# 0 when the id or hash exists.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'created_at', ARGV[3], 'hash', ARGV[4],
  'kind', ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'scopes', ARGV[6])
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""

# KEYS: record. ARGV: revoked_at. 0 unknown id; else keeps the first revocation time.
_REVOKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSETNX', KEYS[1], 'revoked_at', ARGV[1])
return 1
"""

# A fresh 48-bit key id colliding even once is already unlikely; three times means a bug.
_CREATE_ATTEMPTS = 3


@contextmanager
def _reachable() -> Iterator[None]:
    """Turn Redis being down or slow into `ApiKeyStoreUnavailableError`, the store's own error."""
    try:
        yield
    except _UNAVAILABLE as exc:
        log.warning("API key store unavailable: %s", type(exc).__name__)
        raise ApiKeyStoreUnavailableError("the API key store (Redis) cannot be reached") from exc


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RedisApiKeyStore:
    """Issues, lists, revokes and verifies client and admin keys; see the module docstring for
    the layout."""

    def __init__(
        self, redis: RedisClient, prefix: str, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._redis = redis
        self._base = f"{prefix}{{apikeys}}:"
        self._clock = clock
        self._create = redis.register_script(_CREATE)
        self._revoke = redis.register_script(_REVOKE)

    def _record_key(self, key_id: str) -> str:
        return f"{self._base}key:{key_id}"

    def _index_key(self, key_hash: str) -> str:
        return f"{self._base}hash:{key_hash}"

    @property
    def _ids_key(self) -> str:
        return f"{self._base}ids"

    async def create(self, name: str) -> tuple[str, ApiKeyRecord]:
        """The plain key for client application `name` (show it once) and its record.

        Raises `InvalidKeyNameError` for an unusable name.
        """
        return await self._issue(check_name(name), KeyKind.CLIENT, ())

    async def create_admin(
        self, name: str, scopes: Iterable[AdminScope]
    ) -> tuple[str, ApiKeyRecord]:
        """The plain admin key for operator `name` with `scopes` (show it once) and its record.

        Raises `InvalidKeyNameError` for an unusable name, `InvalidScopeError` for no scope.
        """
        return await self._issue(check_name(name), KeyKind.ADMIN, check_scopes(scopes))

    async def _issue(
        self, name: str, kind: KeyKind, scopes: tuple[AdminScope, ...]
    ) -> tuple[str, ApiKeyRecord]:
        for _ in range(_CREATE_ATTEMPTS):
            plain = new_key(kind)
            record = ApiKeyRecord(
                key_id=key_id_of(plain),
                name=name,
                created_at=self._clock(),
                kind=kind,
                scopes=scopes,
            )
            key_hash = hash_key(plain)
            keys = [self._record_key(record.key_id), self._index_key(key_hash), self._ids_key]
            args = [
                record.key_id,
                name,
                record.created_at.isoformat(),
                key_hash,
                kind.value,
                scopes_text(scopes),
            ]
            with _reachable():
                created = await self._create(keys=keys, args=args)
            if created == 1:
                return plain, record
        raise RuntimeError("could not find an unused API key id")

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        with _reachable():
            fields = _decoded(await self._redis.hgetall(self._record_key(key_id)))
        return _record(key_id, fields) if fields else None

    async def list(self) -> list[ApiKeyRecord]:
        """Every key ever issued, revoked ones included, oldest first."""
        with _reachable():
            ids = [_text(i) for i in await self._redis.smembers(self._ids_key)]
            async with self._redis.pipeline(transaction=False) as pipe:
                for key_id in ids:
                    pipe.hgetall(self._record_key(key_id))
                rows = await pipe.execute()
        records = [_record(key_id, _decoded(raw)) for key_id, raw in zip(ids, rows, strict=True)]
        return sorted(records, key=lambda r: (r.created_at, r.key_id))

    async def revoke(self, key_id: str) -> ApiKeyRecord | None:
        """Revoke `key_id` (again is harmless: the first time is kept); None when unknown."""
        revoked_at = self._clock().isoformat()
        with _reachable():
            known = await self._revoke(keys=[self._record_key(key_id)], args=[revoked_at])
        return await self.get(key_id) if known == 1 else None

    async def verify(self, plain_key: str) -> ApiKeyRecord | None:
        """The active client key's record; None when malformed, unknown, revoked or an admin key.

        Raises `ApiKeyStoreUnavailableError` when Redis cannot be reached in time.
        """
        return await self._verify(plain_key, KeyKind.CLIENT)

    async def verify_admin(self, plain_key: str) -> ApiKeyRecord | None:
        """The active admin key's record; None when malformed, unknown, revoked or a client key.

        Raises `ApiKeyStoreUnavailableError` when Redis cannot be reached in time.
        """
        return await self._verify(plain_key, KeyKind.ADMIN)

    async def _verify(self, plain_key: str, kind: KeyKind) -> ApiKeyRecord | None:
        if not is_well_formed(plain_key, kind):
            return None
        with _reachable():
            found = await self._redis.get(self._index_key(hash_key(plain_key)))
            if found is None:
                return None
            key_id = _text(found)
            fields = _decoded(await self._redis.hgetall(self._record_key(key_id)))
        # The index found the id by hash; the record's own hash must agree (in constant time),
        # so a stale or hand-edited index entry never authenticates a key.
        if not fields or not hash_matches(plain_key, fields.get("hash", "")):
            return None
        record = _record(key_id, fields)
        # The prefix said the kind; the record must say the same, whatever was written there.
        return record if record.active and record.kind == kind else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decoded(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def _record(key_id: str, fields: Mapping[str, str]) -> ApiKeyRecord:
    revoked = fields.get("revoked_at")
    named = set(fields.get("scopes", "").split())
    return ApiKeyRecord(
        key_id=key_id,
        name=fields["name"],
        created_at=datetime.fromisoformat(fields["created_at"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
        kind=KeyKind(fields.get("kind", KeyKind.CLIENT)),
        scopes=tuple(scope for scope in AdminScope if scope.value in named),
    )
