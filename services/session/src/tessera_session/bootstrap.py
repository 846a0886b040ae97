"""Composition root: the Redis client and readiness checks, inside the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from tessera_session.config import SessionSettings
from tessera_shared.http.app import Lifespan
from tessera_shared.http.health import HealthChecks
from tessera_shared.redis import make_redis, ping


def lifespan(settings: SessionSettings, health: HealthChecks) -> Lifespan:
    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        redis = make_redis(settings.redis_url)
        health.add("redis", lambda: ping(redis))
        app.state.redis = redis
        try:
            yield
        finally:
            await redis.aclose()

    return run
