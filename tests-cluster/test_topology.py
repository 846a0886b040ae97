"""The Topology seam: the cluster dev servers, once `tessera_shared.devservers` has them, are what
the parts get, with no change here. Stand-ins with the same surface play them (no servers)."""

from pathlib import Path

import pytest

from tessera_shared import devservers
from tessera_shared.testing.http_sink import HttpSink
from tessera_shared.testing.smtp import SmtpCatcher

from .conftest import (
    ComposedTopology,
    SingleNodeTopology,
    _instance_parts,
    cluster_environment,
    topology,
)


class FakeServers:
    """What the cluster classes offer: start, stop, a URL (attribute or method), kill a node."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.killed: list[str] = []

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def nodes(self) -> list[str]:
        return ["0", "1", "2"]

    def kill(self, node: str) -> None:
        self.killed.append(node)


SENTINEL_URL = "redis+sentinel://127.0.0.1:1,127.0.0.1:2,127.0.0.1:3/mymaster/0"
CLUSTER_URL = "redis+cluster://127.0.0.1:4,127.0.0.1:5,127.0.0.1:6"
NATS_URLS = "nats://127.0.0.1:7,nats://127.0.0.1:8,nats://127.0.0.1:9"


@pytest.fixture
def cluster_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        devservers, "RedisSentinelServers", lambda root: FakeServers(root, SENTINEL_URL), False
    )
    monkeypatch.setattr(
        devservers, "RedisClusterServers", lambda root: FakeServers(root, CLUSTER_URL), False
    )
    monkeypatch.setattr(
        devservers, "NatsClusterServers", lambda root: FakeServers(root, NATS_URLS), False
    )
    for name in ("TESSERA_CLUSTER_REDIS", "TESSERA_CLUSTER_NATS"):
        monkeypatch.delenv(name, raising=False)


def test_without_the_cluster_classes_it_is_one_server_of_each(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("RedisSentinelServers", "RedisClusterServers", "NatsClusterServers"):
        monkeypatch.delattr(devservers, name, raising=False)
    monkeypatch.delenv("TESSERA_CLUSTER_REDIS", raising=False)
    monkeypatch.delenv("TESSERA_CLUSTER_NATS", raising=False)
    chosen = topology(tmp_path)
    assert isinstance(chosen, SingleNodeTopology)
    assert chosen.redis_url.startswith("redis://127.0.0.1:")
    assert chosen.nats_url.startswith("nats://127.0.0.1:")
    assert chosen.nodes() == ["redis", "nats"]


@pytest.mark.usefixtures("cluster_classes")
def test_once_merged_sentinel_and_the_nats_cluster_are_used_by_default(tmp_path: Path) -> None:
    chosen = topology(tmp_path)
    assert isinstance(chosen, ComposedTopology)
    assert chosen.name == "redis-sentinel+nats-cluster"
    assert (chosen.redis_url, chosen.nats_url) == (SENTINEL_URL, NATS_URLS)
    assert chosen.nodes() == [f"{kind}:{n}" for kind in ("redis", "nats") for n in "012"]
    chosen.kill("nats:1")
    chosen.kill("redis:2")
    assert (chosen.nats.killed, chosen.redis.killed) == (["1"], ["2"])


@pytest.mark.usefixtures("cluster_classes")
def test_the_environment_chooses_redis_cluster_or_single_servers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TESSERA_CLUSTER_REDIS", "cluster")
    monkeypatch.setenv("TESSERA_CLUSTER_NATS", "single")
    chosen = topology(tmp_path)
    assert chosen.redis_url == CLUSTER_URL
    assert chosen.nats_url.startswith("nats://127.0.0.1:")
    assert chosen.nodes() == ["redis:0", "redis:1", "redis:2", "nats"]
    monkeypatch.setenv("TESSERA_CLUSTER_REDIS", "single")
    assert isinstance(topology(tmp_path), SingleNodeTopology)


@pytest.mark.usefixtures("cluster_classes")
def test_every_part_of_an_instance_gets_the_topologys_urls(tmp_path: Path) -> None:
    env = cluster_environment(
        _instance_parts(),
        topology(tmp_path),
        "postgresql://x@127.0.0.1:1/db",
        "abc",
        tmp_path / "keys",
        SmtpCatcher(),
        HttpSink(),
    )
    redis = {k: v for k, v in env.items() if k.endswith("_REDIS_URL")}
    nats = {k: v for k, v in env.items() if k.endswith("_NATS_URL")}
    assert redis == {
        "TESSERA_SESSION_REDIS_URL": SENTINEL_URL,
        "TESSERA_GATEWAY_REDIS_URL": SENTINEL_URL,
    }
    assert nats == {
        "TESSERA_IDENTITY_NATS_URL": NATS_URLS,
        "TESSERA_SESSION_NATS_URL": NATS_URLS,
        "TESSERA_OTP_NATS_URL": NATS_URLS,
    }
