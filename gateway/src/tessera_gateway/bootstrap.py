"""Composition root: the upstream HTTP pool, Redis, the API key store and readiness checks."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from tessera_gateway.adapters.api_key_store import RedisApiKeyStore
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
        app.state.api_keys = RedisApiKeyStore(redis, settings.api_key_prefix)
        app.state.upstreams = upstreams
        try:
            yield
        finally:
            await client.close()
            await redis.aclose()

    return run


@asynccontextmanager
async def api_key_store(settings: GatewaySettings) -> AsyncIterator[RedisApiKeyStore]:
    """The API key store on its own Redis connection, for the operator command and tools."""
    redis = make_redis(settings.redis_url)
    try:
        yield RedisApiKeyStore(redis, settings.api_key_prefix)
    finally:
        await redis.aclose()


async def create_api_key(settings: GatewaySettings, name: str) -> str:
    """Issue a key for the client application `name`; the plain key, which is not kept."""
    async with api_key_store(settings) as store:
        plain, _ = await store.create(name)
    return plain
