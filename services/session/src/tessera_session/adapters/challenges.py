"""MFA challenge state in Redis: single use, counting wrong codes (see `domain/challenge.py`).

Key layout (P = TESSERA_SESSION_REDIS_KEY_PREFIX, U = user id):

    P{u:U}:mfa:<challenge id>    hash  wrong pending        TTL the challenge lifetime

`wrong` counts codes identity refused, `pending` the checks in flight. The key exists exactly
while the challenge is open; completing it, or its last wrong code, deletes it. Each script
touches that one key and never creates it, so no key without a TTL can appear. A process that
dies mid-check leaves its attempt pending until the key expires: it fails closed.
"""

from redis.asyncio import Redis

from tessera_session.domain.challenge import MAX_WRONG_CODES, ChallengeState
from tessera_shared.contracts.tokens import user_tag

_OPEN = """
redis.call('HSET', KEYS[1], 'wrong', 0, 'pending', 0)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# ARGV: max wrong codes
_RESERVE = """
local f = redis.call('HMGET', KEYS[1], 'wrong', 'pending')
if not f[1] then return 'gone' end
if tonumber(f[1]) + tonumber(f[2]) >= tonumber(ARGV[1]) then return 'exhausted' end
redis.call('HINCRBY', KEYS[1], 'pending', 1)
return 'open'
"""

# ARGV: max wrong codes
_WRONG = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local wrong = redis.call('HINCRBY', KEYS[1], 'wrong', 1)
if wrong >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
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


def _state(answer: bytes | str) -> ChallengeState:
    return ChallengeState(answer.decode() if isinstance(answer, bytes) else answer)


class RedisChallenges:
    def __init__(self, redis: "Redis", prefix: str, *, max_wrong: int = MAX_WRONG_CODES) -> None:
        self._redis = redis
        self._prefix = prefix
        self._max_wrong = max_wrong
        self._open = redis.register_script(_OPEN)
        self._reserve = redis.register_script(_RESERVE)
        self._wrong = redis.register_script(_WRONG)
        self._release = redis.register_script(_RELEASE)

    def key(self, user_id: str, challenge_id: str) -> str:
        return f"{user_tag(self._prefix, user_id)}:mfa:{challenge_id}"

    async def open(self, user_id: str, challenge_id: str, ttl_s: int) -> None:
        """A new open challenge, alive as long as its token."""
        await self._open(keys=[self.key(user_id, challenge_id)], args=[ttl_s])

    async def reserve(self, user_id: str, challenge_id: str) -> ChallengeState:
        """Take one attempt before identity is asked: OPEN when taken, else GONE or EXHAUSTED."""
        answer = await self._reserve(keys=[self.key(user_id, challenge_id)], args=[self._max_wrong])
        return _state(answer)

    async def wrong(self, user_id: str, challenge_id: str) -> ChallengeState:
        """The reserved attempt was a wrong code: it stays spent; EXHAUSTED when it was the last."""
        answer = await self._wrong(keys=[self.key(user_id, challenge_id)], args=[self._max_wrong])
        return _state(answer)

    async def release(self, user_id: str, challenge_id: str) -> None:
        """The reserved attempt could not be checked (identity down): it is given back."""
        await self._release(keys=[self.key(user_id, challenge_id)], args=[])

    async def complete(self, user_id: str, challenge_id: str) -> ChallengeState:
        """Consume the challenge: COMPLETED for exactly one caller, GONE for any other."""
        deleted = await self._redis.delete(self.key(user_id, challenge_id))
        return ChallengeState.COMPLETED if deleted else ChallengeState.GONE
