"""The Topology seam: the cluster dev servers, once `tessera_shared.devservers` has them, are what
the parts get, with no change here. Stand-ins with the same surface play them (no servers)."""

import re
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


class FakeSentinel:
    """`RedisSentinelServers`' surface (tessera_shared/devservers/redis_topologies.py)."""

    def __init__(
        self, data_dir: Path, primary_port: int, replica_port: int, sentinel_ports: list[int]
    ) -> None:
        hosts = ",".join(f"127.0.0.1:{port}" for port in sentinel_ports)
        self.url = f"redis+sentinel://{hosts}/mymaster/0"
        self.pids = {primary_port: 1, replica_port: 2, **{p: 3 for p in sentinel_ports}}
        self.killed: list[object] = []

    def start(self) -> None: ...

    def wait_ready(self, timeout: float = 30.0) -> None: ...

    def stop(self) -> None: ...

    def kill_primary(self) -> int:
        self.killed.append("primary")
        return 0

    def kill(self, port: int) -> None:
        self.killed.append(port)


class FakeRedisCluster:
    def __init__(
        self, data_dir: Path, ports: list[int], replicas_per_master: int = 0, **_: object
    ) -> None:
        assert len(ports) == 6
        assert replicas_per_master == 1
        self.ports = ports
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports)
        self.killed: list[int] = []

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def kill_node(self, port: int) -> None:
        self.killed.append(port)


class FakeNatsCluster:
    """`NatsClusterServers`' surface (tessera_shared/devservers/nats_cluster.py)."""

    def __init__(self, data_dir: Path, client_ports: list[int], cluster_ports: list[int]) -> None:
        self.client_ports = client_ports
        self.url = ",".join(f"nats://127.0.0.1:{port}" for port in client_ports)
        self.killed: list[int] = []

    def start(self, timeout: float = 30.0) -> None: ...

    def stop(self) -> None: ...

    def kill_node(self, i: int) -> None:
        self.killed.append(i)


@pytest.fixture
def cluster_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devservers, "RedisSentinelServers", FakeSentinel, False)
    monkeypatch.setattr(devservers, "RedisClusterServers", FakeRedisCluster, False)
    monkeypatch.setattr(
        devservers, "free_cluster_ports", lambda n: list(range(7000, 7000 + n)), False
    )
    monkeypatch.setattr(devservers, "NatsClusterServers", FakeNatsCluster, False)
    for name in ("TESSERA_CLUSTER_REDIS", "TESSERA_CLUSTER_NATS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("cluster_classes")
def test_the_environment_can_ask_for_one_server_of_each(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TESSERA_CLUSTER_REDIS", "single")
    monkeypatch.setenv("TESSERA_CLUSTER_NATS", "single")
    chosen = topology(tmp_path, "cluster")  # the environment wins over the module's choice
    assert isinstance(chosen, SingleNodeTopology)
    assert chosen.redis_url.startswith("redis://127.0.0.1:")
    assert chosen.nats_url.startswith("nats://127.0.0.1:")
    assert chosen.nodes() == ["redis", "nats"]


SENTINEL = re.compile(r"^redis\+sentinel://(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+/mymaster/0$")
NATS = re.compile(r"^nats://127\.0\.0\.1:\d+(,nats://127\.0\.0\.1:\d+){2}$")


@pytest.mark.usefixtures("cluster_classes")
def test_sentinel_and_the_nats_cluster_are_the_default(tmp_path: Path) -> None:
    chosen = topology(tmp_path)
    assert isinstance(chosen, ComposedTopology)
    assert chosen.name == "redis-sentinel+nats-cluster"
    assert SENTINEL.match(chosen.redis_url), chosen.redis_url
    assert NATS.match(chosen.nats_url), chosen.nats_url
    assert len(set(re.findall(r":(\d+)", chosen.redis_url + chosen.nats_url))) == 6
    assert chosen.nodes()[0] == "redis:primary"
    assert chosen.nodes()[-3:] == ["nats:0", "nats:1", "nats:2"]
    chosen.kill("nats:1")
    chosen.kill("redis:primary")
    assert chosen.nats.servers.killed == [1]
    assert chosen.redis.servers.killed == ["primary"]


@pytest.mark.usefixtures("cluster_classes")
def test_the_environment_chooses_redis_cluster_or_single_servers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TESSERA_CLUSTER_REDIS", "cluster")
    monkeypatch.setenv("TESSERA_CLUSTER_NATS", "single")
    chosen = topology(tmp_path)
    assert chosen.redis_url == "redis+cluster://" + ",".join(
        f"127.0.0.1:{port}" for port in range(7000, 7006)
    )
    assert chosen.nats_url.startswith("nats://127.0.0.1:")
    assert chosen.nodes() == [
        "redis:primary",
        *(f"redis:{port}" for port in range(7000, 7006)),
        "nats",
    ]
    chosen.kill("redis:7003")
    assert chosen.redis.servers.killed == [7003]
    monkeypatch.delenv("TESSERA_CLUSTER_REDIS")
    monkeypatch.delenv("TESSERA_CLUSTER_NATS")
    assert topology(tmp_path, "cluster").name == "redis-cluster+nats-cluster"  # a module's choice
    monkeypatch.setenv("TESSERA_CLUSTER_REDIS", "single")
    assert topology(tmp_path, "cluster").name == "redis-single+nats-cluster"


@pytest.mark.usefixtures("cluster_classes")
def test_every_part_of_an_instance_gets_the_topologys_urls(tmp_path: Path) -> None:
    chosen = topology(tmp_path)
    env = cluster_environment(
        _instance_parts(),
        chosen,
        "postgresql://x@127.0.0.1:1/db",
        "abc",
        tmp_path / "keys",
        SmtpCatcher(),
        HttpSink(),
    )
    redis = {k: v for k, v in env.items() if k.endswith("_REDIS_URL")}
    nats = {k: v for k, v in env.items() if k.endswith("_NATS_URL")}
    assert redis == dict.fromkeys(
        ("TESSERA_SESSION_REDIS_URL", "TESSERA_GATEWAY_REDIS_URL"), chosen.redis_url
    )
    assert nats == dict.fromkeys(
        ("TESSERA_IDENTITY_NATS_URL", "TESSERA_SESSION_NATS_URL", "TESSERA_OTP_NATS_URL"),
        chosen.nats_url,
    )
    replicas = {k: v for k, v in env.items() if k.endswith("_STREAM_REPLICAS")}
    assert replicas == dict.fromkeys(
        (
            "TESSERA_IDENTITY_STREAM_REPLICAS",
            "TESSERA_SESSION_STREAM_REPLICAS",
            "TESSERA_OTP_STREAM_REPLICAS",
        ),
        "3",
    )
