"""Every Redis script and multi-key operation of the gateway on a real 3-master Redis Cluster:
the rate limiter's script (all keys under `{ratelimit}`), the API key store's scripts and
pipeline (`{apikeys}`) and the revocation check. A CROSSSLOT error (or redis-py refusing keys
of several slots) fails the test; then the gateway app itself with a `redis+cluster://` URL."""

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio.cluster import RedisCluster

from tessera_gateway.adapters.api_key_store import RedisApiKeyStore
from tessera_gateway.adapters.rate_limiter import RedisRateLimiter
from tessera_gateway.app import create_app
from tessera_gateway.rate_limits import Limit, RateKey
from tessera_shared.devservers import RedisClusterServers
from tessera_shared.redis import RedisClient, make_redis

pytestmark = pytest.mark.cluster

NOW = 1_700_000_000_000
JSON = {"content-type": "application/json"}


@pytest.fixture
async def cluster(redis_cluster: RedisClusterServers) -> AsyncIterator[RedisClient]:
    client = make_redis(redis_cluster.url)
    assert isinstance(client, RedisCluster)
    try:
        yield client
    finally:
        await client.aclose()


async def test_the_rate_limit_script_with_every_kind_of_key(
    cluster: RedisClient, test_id: str
) -> None:
    limiter = RedisRateLimiter(cluster, f"t{test_id}:", clock=lambda: NOW)
    tight = Limit(rate=2, period_s=60, burst=2)
    keys = [
        RateKey("auth:ip:203.0.113.7", tight),
        RateKey("auth:account:ab12", Limit(rate=10, period_s=60, burst=10)),
        RateKey("auth:device:cd34", Limit(rate=10, period_s=60, burst=10)),
        RateKey("registration:key:k1", Limit(rate=10, period_s=60, burst=10)),
    ]
    assert (await limiter.check(keys)).allowed
    assert (await limiter.check(keys)).allowed
    refused = await limiter.check(keys)
    assert not refused.allowed
    assert refused.limit == 2
    # nothing was counted for the refused request on the other keys
    assert (await limiter.check(keys[1:])).remaining == 7


async def test_every_api_key_script_and_the_listing_pipeline(
    cluster: RedisClient, test_id: str
) -> None:
    store = RedisApiKeyStore(cluster, f"t{test_id}:")
    made = [await store.create(f"app-{n}") for n in range(5)]
    listed = await store.list()
    assert {r.key_id for r in listed} == {r.key_id for _, r in made}
    plain, record = made[0]
    assert await store.verify(plain) == record
    revoked = await store.revoke(record.key_id)
    assert revoked is not None
    assert revoked.revoked_at is not None
    assert await store.verify(plain) is None
    assert await store.get(record.key_id) == revoked


async def test_the_gateway_runs_on_a_cluster_url(
    redis_cluster: RedisClusterServers, gateway_settings, session_upstream
) -> None:
    settings = gateway_settings(redis_url=redis_cluster.url)
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        body = b'{"username": "ann@example.com", "password": "secret"}'
        answers = [
            (await client.post("/v1/authenticate", content=body, headers=JSON)).status_code
            for _ in range(6)
        ]
    assert answers == [201] * 5 + [429]  # the IP, account and device keys, in one script
    assert len(session_upstream.seen) == 5
