"""Refresh families in Redis. Every script touches the keys of one user (one hash slot).

Key layout (P = TESSERA_SESSION_REDIS_KEY_PREFIX, U = user id):

    P{u:U}:fam:<family id>       hash  user_id device_id app_id amr created_at last_used_at ip
                                       user_agent current previous history rotated_at
                                       rotated_times absolute_exp
                                 TTL   sliding lifetime, never past absolute_exp
    P{u:U}:families              set   the user's family ids          TTL absolute lifetime
    P{u:U}:dev:<device>:<app>    str   family id of that device+app   TTL like the family

`current`/`previous`/`history` hold SHA-256 digests of refresh secrets, never the secrets;
`rotated_times` when the last tokens were rotated away (newest first), for the grace rule.
Times are milliseconds since the epoch. A family key exists exactly while the session is
alive; verifiers treat a missing key as a revoked `sid`. A family's device and app never
change (a new login makes a new family), so the `dev:` key of a family follows from its hash.

Scripts: create (replacing the device+app's family, completing the MFA challenge it follows,
and ending the user's least recently used families beyond the cap), rotate, delete one, and
delete all of a user's families but one (`keep`: identity's revocation after a password change).

Per-user cap (`max_sessions_per_user`): a new family that makes the user's count exceed the cap
ends the others with the oldest `last_used_at` (then `created_at`, then id) until the count
equals the cap, in the same script, so concurrent sign-ins cannot overshoot it.
"""

import time
from typing import Any

from tessera_session.adapters.challenges import challenge_keys
from tessera_session.domain.family import (
    Created,
    NewFamily,
    Rotated,
    Rotation,
    RotationAttempt,
    SessionInfo,
)
from tessera_shared.contracts.tokens import family_key, user_tag
from tessera_shared.redis import RedisClient

HISTORY = 10

# KEYS: family, families, device+app key, and when this sign-in completes an MFA challenge,
# its key and the user's set of challenges (`challenges.py`): deleted here, so exactly one
# caller completes it, and none after the user's sessions all ended, which closes the
# challenges first. ARGV: family id, tag, ttl_s, absolute_s, cap, challenge id or '', then the
# hash's fields. Answers {'gone'} when the challenge was no longer open, else
# {'created', replaced family id or '', how many families the cap ended}.
_CREATE = """
if KEYS[4] then
  if redis.call('DEL', KEYS[4]) == 0 then return {'gone', '', 0} end
  redis.call('SREM', KEYS[5], ARGV[6])
end
local old = redis.call('GET', KEYS[3])
if old and old ~= ARGV[1] then
  redis.call('DEL', ARGV[2] .. ':fam:' .. old)
  redis.call('SREM', KEYS[2], old)
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
local cap = tonumber(ARGV[5])
local ended = 0
if redis.call('SCARD', KEYS[2]) > cap then
  local others = {}
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if id ~= ARGV[1] then
      local f = redis.call('HMGET', ARGV[2] .. ':fam:' .. id, 'last_used_at', 'created_at',
                           'device_id', 'app_id')
      if f[1] then
        table.insert(others, {tonumber(f[1]), tonumber(f[2]), id, f[3], f[4]})
      else
        redis.call('SREM', KEYS[2], id)
      end
    end
  end
  table.sort(others, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[3] < b[3]
  end)
  for i = 1, #others + 1 - cap do
    local o = others[i]
    redis.call('DEL', ARGV[2] .. ':fam:' .. o[3])
    redis.call('SREM', KEYS[2], o[3])
    local dev = ARGV[2] .. ':dev:' .. o[4] .. ':' .. o[5]
    if redis.call('GET', dev) == o[3] then redis.call('DEL', dev) end
    ended = ended + 1
  end
end
return {'created', old or '', ended}
"""

# KEYS: family, families. ARGV: presented, successor, now_ms, grace_ms, sliding_s, device, app,
# ip, user_agent, history_n, tag, the presented token's next successors (its successor, that
# one's, ...: as many as the grace rule reaches back, space-separated). An empty device (never
# stored: families are made for a named or assigned device) matches the family's own one; the
# app must always match. Answers {outcome, the family's device, its amr, steps}: the answer
# token is the presented one's `steps`-th successor (the current token, for a straggler).
# `rotated_times` keeps when the last tokens were rotated away, newest first: the j-th is when
# the token j rotations behind the current one was (`domain/family.py`, grace rule).
_ROTATE = """
local f = redis.call('HMGET', KEYS[1], 'device_id', 'app_id', 'current', 'previous',
                      'rotated_at', 'absolute_exp', 'history', 'family_id', 'amr',
                      'rotated_times')
if not f[1] then return {'unknown', '', '', 0} end
if (ARGV[6] ~= '' and f[1] ~= ARGV[6]) or f[2] ~= ARGV[7] then
  return {'mismatch', '', '', 0}
end
local dev = ARGV[11] .. ':dev:' .. f[1] .. ':' .. f[2]
local now = tonumber(ARGV[3])
local chain = {}
for digest in string.gmatch(ARGV[12], '%S+') do table.insert(chain, digest) end
local function revoke()
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], f[8])
  if redis.call('GET', dev) == f[8] then redis.call('DEL', dev) end
end
local function answer(outcome, steps) return {outcome, f[1], f[9] or '', steps} end
if now >= tonumber(f[6]) then revoke() return answer('expired', 0) end
local times = {}
for t in string.gmatch(f[10] or '', '%S+') do table.insert(times, t) end
-- families rotated before `rotated_times` existed: their one known time is `rotated_at`
if #times == 0 and f[4] and f[4] ~= '' then times = {f[5]} end
if ARGV[1] == f[3] then
  local ttl = math.min(tonumber(ARGV[5]), math.floor((tonumber(f[6]) - now) / 1000))
  if ttl < 1 then revoke() return answer('expired', 0) end
  local history = f[4] and (f[4] .. ' ' .. (f[7] or '')) or (f[7] or '')
  local kept = {}
  for digest in string.gmatch(history, '%S+') do
    if #kept < tonumber(ARGV[10]) then table.insert(kept, digest) end
  end
  local rotated = {ARGV[3]}
  for _, t in ipairs(times) do
    if #rotated < #chain then table.insert(rotated, t) end
  end
  redis.call('HSET', KEYS[1], 'current', ARGV[2], 'previous', ARGV[1], 'rotated_at', ARGV[3],
             'last_used_at', ARGV[3], 'ip', ARGV[8], 'user_agent', ARGV[9],
             'history', table.concat(kept, ' '), 'rotated_times', table.concat(rotated, ' '))
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', dev, ttl)
  return answer('rotated', 1)
end
for steps, digest in ipairs(chain) do
  if digest == f[3] then
    local retired = tonumber(times[steps])
    if retired and now - retired <= tonumber(ARGV[4]) then return answer('replayed', steps) end
    break
  end
end
if ARGV[1] == f[4] or string.find(' ' .. (f[7] or '') .. ' ', ' ' .. ARGV[1] .. ' ', 1, true) then
  revoke()
  return answer('reuse', 0)
end
return {'unknown', '', '', 0}
"""

_DELETE = """
local f = redis.call('HMGET', KEYS[1], 'family_id', 'device_id', 'app_id')
if not f[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], f[1])
local dev = ARGV[1] .. ':dev:' .. f[2] .. ':' .. f[3]
if redis.call('GET', dev) == f[1] then redis.call('DEL', dev) end
return 1
"""

# KEYS: families. ARGV: tag, the family id to keep ('' for none). Answers how many ended.
_DELETE_ALL = """
local ended = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] then
    local fam = ARGV[1] .. ':fam:' .. id
    local f = redis.call('HMGET', fam, 'device_id', 'app_id')
    if f[1] then
      local dev = ARGV[1] .. ':dev:' .. f[1] .. ':' .. f[2]
      if redis.call('GET', dev) == id then redis.call('DEL', dev) end
      ended = ended + redis.call('DEL', fam)
    end
    redis.call('SREM', KEYS[1], id)
  end
end
return ended
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _now_ms() -> int:
    return int(time.time() * 1000)


class RedisFamilies:
    def __init__(
        self,
        redis: RedisClient,
        prefix: str,
        *,
        sliding_s: int,
        absolute_s: int,
        grace_s: float,
        max_per_user: int,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._sliding_s = sliding_s
        self._absolute_s = absolute_s
        self._grace_ms = int(grace_s * 1000)
        self._max_per_user = max_per_user
        self._create = redis.register_script(_CREATE)
        self._rotate = redis.register_script(_ROTATE)
        self._delete = redis.register_script(_DELETE)
        self._delete_all = redis.register_script(_DELETE_ALL)

    def _keys(self, user_id: str, family_id: str, device: str, app: str) -> list[str]:
        tag = user_tag(self._prefix, user_id)
        return [
            family_key(self._prefix, user_id, family_id),
            f"{tag}:families",
            f"{tag}:dev:{device}:{app}",
        ]

    async def create(self, family: NewFamily, *, completes: str | None = None) -> Created | None:
        """Store a new family, replacing the one of the same device+app, within the cap.

        `completes`: the id of the MFA challenge this sign-in completes, in the same script;
        None, and nothing stored, when it is no longer open.
        """
        now = _now_ms()
        ttl = min(self._sliding_s, self._absolute_s)
        fields: dict[str, Any] = {
            "family_id": family.family_id,
            "user_id": family.user_id,
            "device_id": family.device_id,
            "app_id": family.app_id,
            "amr": family.amr,
            "created_at": now,
            "last_used_at": now,
            "ip": family.ip,
            "user_agent": family.user_agent,
            "current": family.digest,
            "previous": "",
            "history": "",
            "rotated_at": 0,
            "absolute_exp": now + self._absolute_s * 1000,
        }
        flat = [str(v) for pair in fields.items() for v in pair]
        tag = user_tag(self._prefix, family.user_id)
        keys = self._keys(family.user_id, family.family_id, family.device_id, family.app_id)
        challenge_id = completes or ""
        if completes is not None:
            keys.extend(challenge_keys(self._prefix, family.user_id, completes))
        cap = self._max_per_user
        outcome, replaced, capped = await self._create(
            keys=keys, args=[family.family_id, tag, ttl, self._absolute_s, cap, challenge_id, *flat]
        )
        if _text(outcome) == "gone":
            return None
        return Created(replaced=_text(replaced) or None, capped=int(capped))

    async def rotate(self, attempt: RotationAttempt) -> Rotated:
        """One atomic rotation step; `device` "" accepts the family's own device (not its app)."""
        a = attempt
        tag = user_tag(self._prefix, a.user_id)
        outcome, stored_device, amr, steps = await self._rotate(
            keys=[family_key(self._prefix, a.user_id, a.family_id), f"{tag}:families"],
            args=[
                a.presented,
                a.successors[0],
                _now_ms(),
                self._grace_ms,
                self._sliding_s,
                a.device,
                a.app,
                a.ip,
                a.user_agent,
                HISTORY,
                tag,
                " ".join(a.successors),
            ],
        )
        return Rotated(
            outcome=Rotation(_text(outcome)),
            device_id=_text(stored_device),
            amr=_text(amr).split() or ["pwd"],
            steps=int(steps),
        )

    async def delete(self, user_id: str, family_id: str) -> bool:
        tag = user_tag(self._prefix, user_id)
        keys = [family_key(self._prefix, user_id, family_id), f"{tag}:families"]
        return bool(await self._delete(keys=keys, args=[tag]))

    async def delete_all(self, user_id: str, keep: str | None = None) -> int:
        """End every family of the user except `keep`, atomically; how many ended."""
        tag = user_tag(self._prefix, user_id)
        return int(await self._delete_all(keys=[f"{tag}:families"], args=[tag, keep or ""]))

    async def sessions(self, user_id: str) -> list[SessionInfo]:
        tag = user_tag(self._prefix, user_id)
        ids = sorted(_text(m) for m in await self._redis.smembers(f"{tag}:families"))
        pipe = self._redis.pipeline(transaction=False)  # one round trip for every family
        for family_id in ids:
            pipe.hgetall(family_key(self._prefix, user_id, family_id))
        found = await pipe.execute() if ids else []
        sessions, gone = [], []
        for family_id, raw in zip(ids, found, strict=True):
            if not raw:
                gone.append(family_id)  # expired by TTL
                continue
            f = {_text(k): _text(v) for k, v in raw.items()}
            sessions.append(
                SessionInfo(
                    id=family_id,
                    device_id=f["device_id"],
                    app_id=f["app_id"],
                    created_at=int(f["created_at"]),
                    last_used_at=int(f["last_used_at"]),
                    ip=f["ip"],
                    user_agent=f["user_agent"],
                    amr=f["amr"],
                )
            )
        if gone:
            await self._redis.srem(f"{tag}:families", *gone)
        return sessions

    async def is_active(self, user_id: str, family_id: str) -> bool:
        return bool(await self._redis.exists(family_key(self._prefix, user_id, family_id)))
