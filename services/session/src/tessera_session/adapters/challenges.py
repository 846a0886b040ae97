"""MFA challenge state in Redis: single use, counting wrong codes (see `domain/challenge.py`).

Key layout (P = TESSERA_SESSION_REDIS_KEY_PREFIX, U = user id):

    P{u:U}:mfa:<challenge id>    hash  wrong pending        TTL the challenge lifetime
    P{u:U}:mfas                  set   ids of challenges opened, so ending all sessions can
                                       close them              TTL the newest challenge's lifetime

`wrong` counts codes identity refused, `pending` the checks in flight. The key exists exactly
while the challenge is open; completing it (in `families.py`'s create script, atomically with
the new session), or its last wrong code, deletes it. The scripts that spend attempts touch
that one key and never create it, so no key without a TTL can appear. A process that dies
mid-check leaves its attempt pending until the key expires: it fails closed. The `mfas` set may
name challenges already gone; closing one that is gone does nothing.
"""

from tessera_session.domain.challenge import MAX_WRONG_CODES, ChallengeState
from tessera_shared.contracts.tokens import user_tag
from tessera_shared.redis import RedisClient

# KEYS: challenge, the user's set of challenges. ARGV: lifetime (s), challenge id.
_OPEN = """
redis.call('HSET', KEYS[1], 'wrong', 0, 'pending', 0)
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS: the user's set of challenges. ARGV: tag. Answers how many open challenges ended.
_CLOSE_ALL = """
local closed = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  closed = closed + redis.call('DEL', ARGV[1] .. ':mfa:' .. id)
end
redis.call('DEL', KEYS[1])
return closed
"""

# ARGV: max wrong codes
_RESERVE = """
local f = redis.call('HMGET', KEYS[1], 'wrong', 'pending')
if not f[1] then return 'gone' end
if tonumber(f[1]) + tonumber(f[2]) >= tonumber(ARGV[1]) then return 'exhausted' end
redis.call('HINCRBY', KEYS[1], 'pending', 1)
return 'open'
"""

# KEYS: challenge, the user's set of challenges. ARGV: max wrong codes, challenge id.
_WRONG = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local wrong = redis.call('HINCRBY', KEYS[1], 'wrong', 1)
if wrong >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[2])
  return 'exhausted'
end
if tonumber(redis.call('HGET', KEYS[1], 'pending')) > 0 then
  redis.call('HINCRBY', KEYS[1], 'pending', -1)
end
return 'open'
"""

_RELEASE = """
local pending = redis.call('HGET', KEYS[1], 'pending')
if pending and tonumber(pending) > 0 then redis.call('HINCRBY', KEYS[1], 'pending', -1) end
return 1
"""


def challenge_keys(prefix: str, user_id: str, challenge_id: str) -> list[str]:
    """The challenge's key and the user's set of challenges: what completing one touches
    (here, or in `families.py`'s create script along with the new session)."""
    tag = user_tag(prefix, user_id)
    return [f"{tag}:mfa:{challenge_id}", f"{tag}:mfas"]


def _state(answer: bytes | str) -> ChallengeState:
    return ChallengeState(answer.decode() if isinstance(answer, bytes) else answer)


class RedisChallenges:
    def __init__(
        self, redis: RedisClient, prefix: str, *, max_wrong: int = MAX_WRONG_CODES
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._max_wrong = max_wrong
        self._open = redis.register_script(_OPEN)
        self._reserve = redis.register_script(_RESERVE)
        self._wrong = redis.register_script(_WRONG)
        self._release = redis.register_script(_RELEASE)
        self._close_all = redis.register_script(_CLOSE_ALL)

    def key(self, user_id: str, challenge_id: str) -> str:
        return self.keys(user_id, challenge_id)[0]

    def keys(self, user_id: str, challenge_id: str) -> list[str]:
        """The challenge's key and the user's set of challenges (`challenge_keys`)."""
        return challenge_keys(self._prefix, user_id, challenge_id)

    async def open(self, user_id: str, challenge_id: str, ttl_s: int) -> None:
        """A new open challenge, alive as long as its token."""
        await self._open(keys=self.keys(user_id, challenge_id), args=[ttl_s, challenge_id])

    async def close_all(self, user_id: str) -> int:
        """End every open challenge of the user (all sessions end); how many were open."""
        tag = user_tag(self._prefix, user_id)
        keys = [f"{tag}:mfas"]
        return int(await self._close_all(keys=keys, args=[tag]))

    async def reserve(self, user_id: str, challenge_id: str) -> ChallengeState:
        """Take one attempt before identity is asked: OPEN when taken, else GONE or EXHAUSTED."""
        answer = await self._reserve(keys=[self.key(user_id, challenge_id)], args=[self._max_wrong])
        return _state(answer)

    async def wrong(self, user_id: str, challenge_id: str) -> ChallengeState:
        """The reserved attempt was a wrong code: it stays spent; EXHAUSTED when it was the last."""
        keys = self.keys(user_id, challenge_id)
        answer = await self._wrong(keys=keys, args=[self._max_wrong, challenge_id])
        return _state(answer)

    async def release(self, user_id: str, challenge_id: str) -> None:
        """The reserved attempt could not be checked (identity down): it is given back."""
        await self._release(keys=[self.key(user_id, challenge_id)], args=[])
