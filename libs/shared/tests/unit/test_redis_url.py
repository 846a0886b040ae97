"""REDIS_URL forms, parsed without I/O, and the client each one builds (not connected yet)."""

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import MasterNotFoundError, SentinelConnectionPool
from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    ReadOnlyError,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)

from tessera_shared.redis import (
    UNAVAILABLE,
    RedisTarget,
    RedisUrlError,
    make_redis,
    parse_redis_url,
)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache:6380/2", "unix:///run/redis.sock"]
)
def test_single_node_urls_are_passed_through(url: str) -> None:
    target = parse_redis_url(url)
    assert target.kind == "single"
    assert target.url == url
    assert target.tls == url.startswith("rediss")


def test_sentinel_url() -> None:
    target = parse_redis_url("redis+sentinel://s3cret@10.0.0.1:26379,10.0.0.2:26380/mymaster/3")
    assert target == RedisTarget(
        kind="sentinel",
        url="redis+sentinel://s3cret@10.0.0.1:26379,10.0.0.2:26380/mymaster/3",
        nodes=(("10.0.0.1", 26379), ("10.0.0.2", 26380)),
        service="mymaster",
        db=3,
        password="s3cret",
    )


def test_sentinel_url_defaults_and_options() -> None:
    target = parse_redis_url(
        "rediss+sentinel://app:p%40ss@a,[::1]:26390/primary?sentinel_password=x"
    )
    assert target.nodes == (("a", 26379), ("::1", 26390))
    assert (target.service, target.db, target.tls) == ("primary", 0, True)
    assert (target.username, target.password, target.sentinel_password) == ("app", "p@ss", "x")


def test_cluster_url() -> None:
    target = parse_redis_url("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001")
    assert target.kind == "cluster"
    assert target.nodes == (("127.0.0.1", 7000), ("127.0.0.1", 7001))
    assert (target.password, target.username, target.db) == ("pw", None, 0)
    assert parse_redis_url("rediss+cluster://h:7000/0").tls


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("memcached://h:1", "scheme"),
        ("redis+sentinel://h:26379", "names the master"),
        ("redis+sentinel://h:26379/m/0/x", "path"),
        ("redis+sentinel://h:26379/m/zero", "number"),
        ("redis+sentinel://h:port/m", "bad port"),
        ("redis+sentinel://h:70000/m", "bad port"),
        ("redis+cluster://h:7000,,h:7001", "empty host"),
        ("redis+cluster://h:7000/1", "only db 0"),
        ("redis+cluster://:7000", "no host"),
    ],
)
def test_malformed_urls_say_why(url: str, why: str) -> None:
    with pytest.raises(RedisUrlError, match=why):
        parse_redis_url(url)


async def test_each_form_builds_its_client_without_connecting() -> None:
    # Ports nobody listens on: building must not connect.
    single = make_redis("redis://127.0.0.1:1/0", pool_size=7)
    sentinel = make_redis("redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster/2", pool_size=7)
    cluster = make_redis("redis+cluster://127.0.0.1:1,127.0.0.1:2", pool_size=7)
    try:
        assert isinstance(single, Redis)
        assert isinstance(sentinel, Redis)
        pool = sentinel.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        assert pool.max_connections == 7
        assert pool.connection_kwargs["db"] == 2
        assert isinstance(cluster, RedisCluster)
    finally:
        for client in (single, sentinel, cluster):
            await client.aclose()


@pytest.mark.parametrize(
    "error",
    [
        ClusterDownError("CLUSTERDOWN"),
        MasterDownError("MASTERDOWN"),
        TryAgainError("TRYAGAIN"),
        SlotNotCoveredError("slot"),
        MasterNotFoundError("no master"),
        ReadOnlyError("READONLY"),
    ],
)
def test_cluster_and_sentinel_outages_count_as_unavailable(error: Exception) -> None:
    assert isinstance(error, UNAVAILABLE)


def test_a_plain_command_error_is_not_an_outage() -> None:
    assert not isinstance(ResponseError("WRONGTYPE"), UNAVAILABLE)
