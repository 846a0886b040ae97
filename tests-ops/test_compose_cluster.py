"""docker-compose.cluster.yml merged onto docker-compose.yml as `docker compose -f ... -f ...`
merges them: Redis Sentinel, a three-node NATS JetStream cluster, two replicas of every part.
Checked as files against the Compose Specification and the parts' settings; no Docker engine."""

import os
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from .test_compose import (
    COMPOSE,
    JOBS,
    PARTS,
    Doc,
    StrictLoader,
    environment,
    interpolate,
    named_volume,
    operator_env,
    part_of,
    schema_errors,
    services,
    variables,
)

CLUSTER = COMPOSE.parent / "docker-compose.cluster.yml"
REPLICAS = 2
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
NATS_NODES = ("nats", "nats-2", "nats-3")


class Override:
    """A value tagged `!override`: replaces the base file's instead of merging with it."""

    def __init__(self, value: Any) -> None:
        self.value = value


class ComposeLoader(StrictLoader):
    pass


def _override(loader: ComposeLoader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    return Override(loader.construct_scalar(node))


ComposeLoader.add_constructor("!override", _override)

# Compose's merge rules (compose-spec, "Merge and override"): mappings merge key by key;
# these sequences are replaced; other sequences are appended to, without repeats.
_REPLACED = {"command", "entrypoint", "healthcheck.test"}


def merge(base: Any, over: Any, path: tuple[str, ...] = ()) -> Any:
    if isinstance(over, Override):
        return over.value
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = merge(base[key], value, (*path, key)) if key in base else unwrap(value)
        return merged
    replaced = path[-1:] and (path[-1] in _REPLACED or ".".join(path[-2:]) in _REPLACED)
    if isinstance(base, list) and isinstance(over, list) and not replaced:
        return base + [item for item in over if item not in base]
    return unwrap(over)


def unwrap(value: Any) -> Any:
    if isinstance(value, Override):
        return value.value
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def load_merged() -> Doc:
    base = yaml.load(COMPOSE.read_text(), Loader=ComposeLoader)  # noqa: S506 (a SafeLoader)
    over = yaml.load(CLUSTER.read_text(), Loader=ComposeLoader)  # noqa: S506
    merged: Doc = merge(base, over)
    return merged


@pytest.fixture(scope="module")
def cluster() -> Doc:
    return load_merged()


@pytest.fixture
def settings_from(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Doc], Any]:
    """A part's settings as its own `load_settings` reads them from a service's environment."""

    def load(name: str, service: Doc) -> Any:
        for key in [key for key in os.environ if key.startswith("TESSERA_")]:
            monkeypatch.delenv(key)
        for key, value in environment(service).items():
            monkeypatch.setenv(key, value)
        return part_of(name).load()

    return load


def test_the_merge_follows_composes_rules() -> None:
    base = {"s": {"command": ["a"], "ports": ["1:1"], "volumes": ["v:/v"], "env": {"A": "1"}}}
    over = {
        "s": {
            "command": ["b"],
            "ports": Override(["2:1"]),
            "volumes": ["w:/w", "v:/v"],
            "env": {"B": "2"},
        }
    }
    assert merge(base, over) == {
        "s": {
            "command": ["b"],
            "ports": ["2:1"],
            "volumes": ["v:/v", "w:/w"],
            "env": {"A": "1", "B": "2"},
        }
    }
    assert yaml.load("p: !override [1]", Loader=ComposeLoader)["p"].value == [1]  # noqa: S506


def test_the_merged_file_is_valid_against_the_compose_specification(cluster: Doc) -> None:
    assert schema_errors(cluster) == []
    assert schema_errors(interpolate(cluster, operator_env())) == []


def test_the_cluster_file_reads_no_variable_the_base_file_does_not_document() -> None:
    assert list(variables(yaml.load(CLUSTER.read_text(), Loader=ComposeLoader))) == []  # noqa: S506


def test_every_part_runs_two_replicas_and_the_gateway_publishes_one_port_each(
    cluster: Doc,
) -> None:
    for name in PARTS:
        service = services(cluster)[name]
        assert service["deploy"]["replicas"] == REPLICAS, name
        assert "container_name" not in service, "a fixed name allows one container"
    assert services(cluster)["migrate"].get("deploy", {}).get("replicas", 1) == 1
    (ports,) = services(cluster)["gateway"]["ports"]
    published, _, target = ports.rpartition(":")
    low, _, high = published.partition("-")
    assert int(high) - int(low) + 1 == REPLICAS
    assert target == "8080"


def command_words(service: Doc) -> list[str]:
    command = service["command"]
    if command[:2] == ["sh", "-c"]:
        return shlex.split(command[2])
    return [str(word) for word in command]


def test_redis_is_a_primary_a_replica_and_three_sentinels_with_a_majority_quorum(
    cluster: Doc,
) -> None:
    replica = command_words(services(cluster)["redis-replica"])
    at = replica.index("--replicaof")
    assert replica[at + 1 : at + 3] == ["redis", "6379"]
    assert replica[replica.index("--replica-announce-ip") + 1] == "redis-replica"
    primary = command_words(services(cluster)["redis"])
    assert primary[primary.index("--replica-announce-ip") + 1] == "redis"
    for name in ("redis", "redis-replica"):
        words = command_words(services(cluster)[name])
        assert words[words.index("--appendonly") + 1] == "yes", "families survive a restart"
    volumes = set()
    for name in SENTINELS:
        service = services(cluster)[name]
        script = " ".join(command_words(service))
        (monitor,) = re.findall(r"sentinel monitor (\S+) (\S+) (\d+) (\d+)", script)
        assert monitor[:3] == ("mymaster", "redis", "6379")
        assert int(monitor[3]) == len(SENTINELS) // 2 + 1, "a majority of the sentinels"
        assert "port 26379" in script
        assert "sentinel resolve-hostnames yes" in script
        assert "redis-sentinel /data/sentinel.conf" in script
        volumes.add(named_volume(cluster, service, "/data"))  # it rewrites its config there
    assert len(volumes) == len(SENTINELS)


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_nats_is_three_jetstream_nodes_each_routed_to_the_two_others(cluster: Doc) -> None:
    names, volumes, clusters = set(), set(), set()
    for node in NATS_NODES:
        service = services(cluster)[node]
        words = command_words(service)
        assert "-js" in words
        volumes.add(named_volume(cluster, service, option(words, "-sd")))
        names.add(option(words, "--name"))
        clusters.add(option(words, "--cluster_name"))
        assert option(words, "--cluster") == "nats://0.0.0.0:6222"
        routes = {urlsplit(r).netloc for r in option(words, "--routes").split(",")}
        assert routes == {f"{other}:6222" for other in NATS_NODES if other != node}
        assert "js-enabled-only=true" in " ".join(service["healthcheck"]["test"])
    assert len(names) == len(volumes) == len(NATS_NODES)
    assert len(clusters) == 1


def test_the_parts_ask_the_sentinels_and_know_every_nats_node(
    cluster: Doc, settings_from: Callable[[str, Doc], Any]
) -> None:
    doc = interpolate(cluster, operator_env())
    loaded = {name: settings_from(name, services(doc)[name]) for name in PARTS}
    session, gateway = loaded["session"], loaded["gateway"]
    assert session.redis_url == gateway.redis_url
    url = urlsplit(session.redis_url)
    assert url.scheme == "redis+sentinel"
    assert set(url.netloc.split(",")) == {f"{s}:26379" for s in SENTINELS}
    assert url.path == "/mymaster/0"
    for name in ("identity", "session", "otp-delivery"):
        nodes = {urlsplit(u).netloc for u in loaded[name].nats_url.split(",")}
        assert nodes == {f"{n}:4222" for n in NATS_NODES}, name
        assert loaded[name].stream_replicas == len(NATS_NODES), name
    assert environment(services(doc)["migrate"]) == environment(services(doc)["identity"])


def test_every_part_waits_for_the_servers_it_now_uses(cluster: Doc) -> None:
    for name in PARTS:
        service = services(cluster)[name]
        env = " ".join(environment(service).values())
        waits = {k for k, v in service["depends_on"].items() if v["condition"] == "service_healthy"}
        if "redis+sentinel://" in env:
            assert set(SENTINELS) <= waits, name
        if "nats://" in env:
            assert set(NATS_NODES) <= waits, name


def test_every_new_server_has_a_health_check_and_a_pinned_image(cluster: Doc) -> None:
    base = services(yaml.load(COMPOSE.read_text(), Loader=ComposeLoader))  # noqa: S506
    for name, service in services(cluster).items():
        if name in base or name in JOBS:
            continue
        assert re.search(r":\d+(\.\d+)+(-\w+)?$", service["image"]), name
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "unless-stopped", name


def test_the_cluster_file_is_where_the_readme_of_the_deployment_says(cluster: Doc) -> None:
    readme = (Path(__file__).resolve().parents[1] / "deploy" / "README.md").read_text()
    assert "docker-compose.cluster.yml" in readme
