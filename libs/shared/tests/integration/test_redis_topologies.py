"""`make_redis` on Sentinel and Cluster URLs against the dev servers: bursts wait for a free
connection as on one node, and a wait past `pool_timeout_s` is a `ConnectionError` (503)."""

import asyncio

import pytest
from redis import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError, MaxConnectionsError

from tessera_shared.devservers import RedisClusterServers, RedisSentinelServers
from tessera_shared.redis import make_redis, parse_redis_url

pytestmark = pytest.mark.cluster


def _url(topology: str, cluster: RedisClusterServers, sentinel: RedisSentinelServers) -> str:
    return cluster.url if topology == "cluster" else sentinel.url


@pytest.mark.parametrize("topology", ["cluster", "sentinel"])
async def test_a_burst_beyond_the_pool_waits_instead_of_failing(
    topology: str,
    redis_cluster: RedisClusterServers,
    redis_sentinel: RedisSentinelServers,
    test_id: str,
) -> None:
    redis = make_redis(_url(topology, redis_cluster, redis_sentinel), pool_size=3)
    try:
        keys = [f"t{test_id}:{{burst{n % 7}}}" for n in range(300)]
        await asyncio.gather(*(redis.incr(key) for key in keys))
        counts = [await redis.get(f"t{test_id}:{{burst{n}}}") for n in range(7)]
        assert sum(int(count) for count in counts) == 300
    finally:
        await redis.aclose()


async def test_redis_py_s_own_cluster_pool_fails_such_a_burst(
    redis_cluster: RedisClusterServers, test_id: str
) -> None:
    """What the waiting above replaces."""
    nodes = [ClusterNode(host, port) for host, port in parse_redis_url(redis_cluster.url).nodes]
    redis = RedisCluster(startup_nodes=nodes, max_connections=3)
    try:
        with pytest.raises(MaxConnectionsError):
            await asyncio.gather(*(redis.incr(f"t{test_id}:{{b}}") for _ in range(300)))
    finally:
        await redis.aclose()


@pytest.mark.parametrize("topology", ["cluster", "sentinel"])
async def test_a_wait_longer_than_pool_timeout_is_a_connection_error(
    topology: str,
    redis_cluster: RedisClusterServers,
    redis_sentinel: RedisSentinelServers,
    test_id: str,
) -> None:
    redis = make_redis(
        _url(topology, redis_cluster, redis_sentinel), pool_size=1, pool_timeout_s=0.2
    )
    try:
        blocked = asyncio.create_task(redis.blpop([f"t{test_id}:{{q}}"], timeout=1))
        await asyncio.sleep(0.1)
        with pytest.raises(ConnectionError):
            await redis.get(f"t{test_id}:{{other}}")
        assert await blocked is None
    finally:
        await redis.aclose()


async def test_master_of_names_the_master_that_holds_a_key(
    redis_cluster: RedisClusterServers, test_id: str
) -> None:
    key = f"t{test_id}:{{ratelimit}}"
    redis = make_redis(redis_cluster.url)
    try:
        await redis.set(key, b"here")
    finally:
        await redis.aclose()
    port = redis_cluster.master_of(key)
    assert port in redis_cluster.masters()
    with Redis(port=port) as node:  # the master itself, no redirection followed
        assert node.get(key) == b"here"
