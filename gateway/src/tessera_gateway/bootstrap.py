"""Composition root: the upstream HTTP pool, Redis, and readiness checks, in the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from tessera_gateway.adapters.upstream import make_client, upstream_ready
from tessera_gateway.config import GatewaySettings
from tessera_shared.http.app import Lifespan
from tessera_shared.http.health import HealthChecks
from tessera_shared.redis import make_redis, ping


def lifespan(settings: GatewaySettings, health: HealthChecks) -> Lifespan:
    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        client = make_client(settings)
        redis = make_redis(settings.redis_url)
        upstreams = {"identity": settings.identity_url, "session": settings.session_url}
        health.add("redis", lambda: ping(redis))
        for name, url in upstreams.items():
            health.add(name, lambda url=url: upstream_ready(client, url))  # type: ignore[misc]
        app.state.http = client
        app.state.redis = redis
        app.state.upstreams = upstreams
        try:
            yield
        finally:
            await client.close()
            await redis.aclose()

    return run
