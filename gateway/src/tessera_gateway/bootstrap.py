"""Composition root: upstream HTTP pool, Redis, API key store, token checks, readiness."""

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from litestar import Litestar

from tessera_gateway.adapters.api_key_store import RedisApiKeyStore
from tessera_gateway.adapters.http1 import make_pool
from tessera_gateway.adapters.rate_limiter import RedisRateLimiter
from tessera_gateway.adapters.upstream import make_client, upstream_ready
from tessera_gateway.api_keys import ALL_SCOPES
from tessera_gateway.config import GatewaySettings
from tessera_gateway.openapi import OpenApiCache
from tessera_gateway.throttle import Throttle
from tessera_shared.contracts.admin import AdminScope
from tessera_shared.http.app import Lifespan
from tessera_shared.http.health import HealthChecks
from tessera_shared.redis import make_redis, ping
from tessera_shared.shutdown import within
from tessera_shared.tokens import AccessTokenVerifier, JwksCache, RevocationCheck

VERIFIED_TOKENS_KEPT = 10_000
"""Access tokens whose signature the gateway remembers having checked (~1 KB each): about as
many clients as are active within a token's lifetime on one worker, at a few MB."""


def lifespan(settings: GatewaySettings, health: HealthChecks) -> Lifespan:
    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        client = make_client(settings)  # readiness and the OpenAPI documents
        pool = make_pool(settings)  # forwarded requests: the lean client
        redis = make_redis(
            settings.redis_url,
            pool_size=settings.redis_pool_size,
            pool_timeout_s=settings.redis_pool_timeout_s,
        )
        upstreams = {"identity": settings.identity_url, "session": settings.session_url}
        health.add("redis", lambda: ping(redis))
        for name, url in upstreams.items():
            health.add(name, lambda url=url: upstream_ready(client, url))  # type: ignore[misc]
        app.state.http = client
        app.state.upstream_pool = pool
        app.state.redis = redis
        app.state.api_keys = RedisApiKeyStore(redis, settings.api_key_prefix)
        app.state.admin_enabled = settings.admin_enabled
        app.state.internal_token = settings.internal_token
        limiter = RedisRateLimiter(redis, settings.rate_limit_prefix)
        app.state.throttle = Throttle.from_settings(settings, limiter)
        app.state.upstreams = upstreams
        app.state.openapi = OpenApiCache(client, upstreams, admin=settings.admin_enabled)
        # Fetched at the first token, not here: the gateway may start before the session service.
        jwks = JwksCache(settings.session_jwks_url)
        app.state.tokens = AccessTokenVerifier(
            jwks,
            settings.token_issuer,
            settings.token_audience,
            cache_size=VERIFIED_TOKENS_KEPT,
        )
        app.state.revocations = RevocationCheck(redis, settings.session_key_prefix)
        try:
            yield
        finally:
            await within("jwks", jwks.aclose())
            await within("http client", client.close())
            await within("upstream pool", pool.close())
            await within("redis", redis.aclose())

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


async def create_admin_key(
    settings: GatewaySettings, name: str, scopes: Iterable[AdminScope] = ALL_SCOPES
) -> str:
    """Issue an admin key for operator `name`; the plain key, which is not kept."""
    async with api_key_store(settings) as store:
        plain, _ = await store.create_admin(name, scopes)
    return plain
