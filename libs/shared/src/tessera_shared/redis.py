"""The Redis client: lazy connections with timeouts, so a Redis restart heals by itself.

The pool is bounded and blocking: a burst beyond `pool_size` commands in flight waits for a
free connection (up to `pool_timeout_s`) instead of failing at once. redis-py's default pool
raises `MaxConnectionsError` (a `ConnectionError`) past 100, which callers would take for
"Redis is down". Only a wait longer than `pool_timeout_s` fails, with `ConnectionError`.
"""

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

DEFAULT_POOL_SIZE = 50
DEFAULT_POOL_TIMEOUT_S = 2.0


def make_redis(
    url: str,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
) -> "Redis":
    """A client owning its pool: `aclose()` closes the pool too."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=pool_size,
        timeout=pool_timeout_s,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        decode_responses=False,
    )
    return Redis.from_pool(pool)


async def ping(redis: "Redis") -> None:
    await redis.ping()
