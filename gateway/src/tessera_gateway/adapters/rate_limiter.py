"""Rate limits in Redis: GCRA over all keys of a request in one Lua script, one round trip.

Key layout, under the configurable prefix `P` (`TESSERA_GATEWAY_RATE_LIMIT_PREFIX`):

    P{ratelimit}:<group>:ip:<address or IPv6 /64>   string  TAT, ms since the epoch
    P{ratelimit}:<group>:account:<sha256 prefix>    string  TAT (sign-in routes, the username)
    P{ratelimit}:<group>:device:<sha256 prefix>     string  TAT (sign-in routes, X-Device-ID)
    P{ratelimit}:<group>:key:<API key id>           string  TAT (registration routes)

Every key expires at its TAT (`PX`), when it would mean the same as no key: at most one burst's
worth of time (`rate_limits.py` has the arithmetic). Every gateway instance shares them.

One hash tag for all: the keys of one request (an IP, an account, a device) would otherwise
lie in different slots of a Redis Cluster, and a script may only touch one slot. Checking key
by key would lose "count only if every key allows" (a refused request would still use up the
keys checked before) and cost a round trip each. So this trades spreading over the cluster for
atomicity: all limiter traffic goes to one shard, at two cheap commands per key, far below
what one Redis node serves. The clock is the Redis server's (`TIME`), so instances with
skewed clocks still agree; this needs Redis 5 or later (scripts replicated by effects).
"""

import logging
from collections.abc import Callable, Sequence

from redis.exceptions import RedisError

from tessera_gateway.rate_limits import Decision, RateKey, RateLimiterUnavailableError
from tessera_shared.redis import UNAVAILABLE, RedisClient

log = logging.getLogger("tessera.gateway.rate_limits")

# Any Redis failure (a cluster's SlotNotCoveredError is not a RedisError) or a socket error.
_FAILING: tuple[type[Exception], ...] = (RedisError, *UNAVAILABLE, OSError)

# KEYS: the request's keys. ARGV[1]: now in ms, or '' for the server's clock; then for each
# key k, ARGV[2k] and ARGV[2k+1]: its emission interval in ms and its burst.
# Returns {allowed (1 or 0), limit, remaining, reset ms, retry after ms} of the key that tells:
# the refusing key with the longest wait, else the one with the fewest remaining requests.
_GCRA = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local allowed = 1
local limit, remaining, reset, retry = 0, -1, 0, 0
local new_tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local tau = interval * burst
  if new_tat - now > tau then
    local wait = new_tat - tau - now
    if allowed == 1 or wait > retry then
      limit, remaining, reset, retry = burst, 0, tat - now, wait
    end
    allowed = 0
  elseif allowed == 1 then
    local left = math.floor((tau - (new_tat - now)) / interval)
    if remaining < 0 or left < remaining or (left == remaining and new_tat - now > reset) then
      limit, remaining, reset = burst, left, new_tat - now
    end
  end
  new_tats[i] = new_tat
end
if allowed == 1 then
  for i, key in ipairs(KEYS) do
    redis.call('SET', key, string.format('%d', new_tats[i]), 'PX', new_tats[i] - now)
  end
end
return {allowed, limit, remaining, reset, retry}
"""


class RedisRateLimiter:
    """Checks and counts a request against all its keys at once; see the module docstring.

    `clock` (ms since the epoch) replaces the Redis server's clock, for tests.
    """

    def __init__(
        self, redis: RedisClient, prefix: str, clock: Callable[[], int] | None = None
    ) -> None:
        self._base = f"{prefix}{{ratelimit}}:"
        self._script = redis.register_script(_GCRA)
        self._clock = clock

    def key(self, suffix: str) -> str:
        """The Redis key of a `RateKey.suffix`."""
        return f"{self._base}{suffix}"

    async def check(self, keys: Sequence[RateKey]) -> Decision:
        """Raises `RateLimiterUnavailableError` when Redis cannot answer (down, slow, failing)."""
        args: list[str | int] = [str(self._clock()) if self._clock else ""]
        for key in keys:
            args += [key.limit.interval_ms, key.limit.burst]
        try:
            allowed, limit, remaining, reset_ms, retry_ms = await self._script(
                keys=[self.key(k.suffix) for k in keys], args=args
            )
        except _FAILING as exc:
            log.warning("rate limiter unavailable: %s", type(exc).__name__)
            raise RateLimiterUnavailableError("the rate limiter (Redis) cannot answer") from exc
        return Decision.from_ms(
            allowed=allowed == 1,
            limit=int(limit),
            remaining=int(remaining),
            reset_ms=int(reset_ms),
            retry_after_ms=int(retry_ms),
        )
