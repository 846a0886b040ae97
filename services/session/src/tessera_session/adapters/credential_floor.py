"""The oldest password a new session may come from, per user, in Redis.

Key layout (P = TESSERA_SESSION_REDIS_KEY_PREFIX, U = user id):

    P{u:U}:cv    str   identity's credential version of the user's last password reset or
                       change                                          TTL FLOOR_TTL_S

Identity's revocation after a reset or change raises the floor *before* it ends the sessions;
a sign-in stores its family (or opens its challenge) *before* it reads the floor. So a sign-in
whose password was checked against the old password either had its family ended by the
revocation, or sees the new floor and ends it itself. The floor only has to outlive sign-ins
in flight (seconds), hence the short TTL: a missing key lets every version through.
"""

from tessera_shared.contracts.tokens import user_tag
from tessera_shared.redis import RedisClient

FLOOR_TTL_S = 600

# KEYS: the floor. ARGV: version, ttl. Never lowers it: a late revocation cannot reopen.
_RAISE = """
local old = tonumber(redis.call('GET', KEYS[1]) or '-1')
local new = tonumber(ARGV[1])
if new > old then old = new end
redis.call('SET', KEYS[1], old, 'EX', ARGV[2])
return old
"""


class RedisCredentialFloor:
    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._raise = redis.register_script(_RAISE)

    def _key(self, user_id: str) -> str:
        return f"{user_tag(self._prefix, user_id)}:cv"

    async def raise_to(self, user_id: str, version: int) -> None:
        await self._raise(keys=[self._key(user_id)], args=[version, FLOOR_TTL_S])

    async def admits(self, user_id: str, version: int) -> bool:
        """Whether a password of `version` may still start a session of the user."""
        floor = await self._redis.get(self._key(user_id))
        return floor is None or version >= int(floor)

    async def forget(self, user_id: str) -> None:
        """Drop the floor of an erased account (no sign-in of it can follow)."""
        await self._redis.delete(self._key(user_id))
