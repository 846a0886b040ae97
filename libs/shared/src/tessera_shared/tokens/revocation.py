"""Whether an access token's session is still alive: its refresh family exists in Redis.

The session service deletes the family at logout and on reuse detection, so a token stops
working at once instead of at `exp`. Keys are those of `contracts.tokens.family_key`.
"""

import logging

from tessera_shared.contracts.tokens import AccessClaims, family_key
from tessera_shared.errors import Code, TesseraError
from tessera_shared.redis import UNAVAILABLE, RedisClient

log = logging.getLogger("tessera.tokens")

# Redis unreachable or too slow: neither active nor revoked, so the caller answers 503.
_UNAVAILABLE: tuple[type[Exception], ...] = (*UNAVAILABLE, OSError)


class RevocationCheck:
    """Looks up refresh families in the session service's Redis (same `prefix` as the service)."""

    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def is_active(self, claims: AccessClaims) -> bool:
        """Whether the family of `claims` exists; raises `Code.SERVICE_UNAVAILABLE` if unsure."""
        key = family_key(self._prefix, claims.sub, claims.sid)
        try:
            found: int = await self._redis.exists(key)
        except _UNAVAILABLE as exc:
            log.warning("revocation check unavailable: %s", type(exc).__name__)
            raise TesseraError(Code.SERVICE_UNAVAILABLE) from exc
        return found == 1
