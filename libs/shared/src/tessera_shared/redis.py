"""The Redis client: lazy connections with timeouts, so a Redis restart heals by itself."""

from redis.asyncio import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def make_redis(url: str) -> "Redis":
    return Redis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        decode_responses=False,
    )


async def ping(redis: "Redis") -> None:
    await redis.ping()
