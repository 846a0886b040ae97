"""pytest plugin: layers by folder, and real servers for the integration and e2e layers.

Servers come, in this order of preference, from:
- `TESSERA_TEST_POSTGRES_URL`, `TESSERA_TEST_REDIS_URL`, `TESSERA_TEST_NATS_URL` (yours);
- containers, when `TESSERA_TEST_CONTAINERS=1` and a Docker engine answers;
- otherwise throwaway servers from PyPI wheels on free ports in a temporary folder.
They start once per test run, only when a test asks for them. Each test is isolated by a
fresh database, a random Redis key prefix or random stream names, never by wiping shared state.
"""

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from psycopg import sql

from tessera_shared.devservers import (
    NatsClusterServers,
    NatsServer,
    PostgresServer,
    RedisClusterServers,
    RedisSentinelServers,
    RedisServer,
    free_cluster_ports,
    free_port,
)
from tessera_shared.testing.http_sink import HttpSink
from tessera_shared.testing.smtp import SmtpCatcher
from tessera_shared.testing.spans import capture_spans

_LAYERS = {"unit": "unit", "integration": "integration"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its layer, from the folder it lives in."""
    for item in items:
        parts = Path(str(item.path)).parts
        if "tests-browser" in parts:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.browser)
            continue
        if "tests-e2e" in parts:
            item.add_marker(pytest.mark.e2e)
            continue
        if "tests-ops" in parts:  # deployment files checked as text: no servers
            item.add_marker(pytest.mark.unit)
            continue
        for folder, marker in _LAYERS.items():
            if folder in parts:
                item.add_marker(getattr(pytest.mark, marker))


def _server_dir() -> Iterator[Path]:
    # Not under pytest's temp root: every new pytest session resets that to mode 0700, which
    # would lock the PostgreSQL user (when we are root) out of another session's data.
    path = Path(tempfile.mkdtemp(prefix="tessera-test-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    yield from _server_dir()


@pytest.fixture
def own_servers_dir() -> Iterator[Path]:
    yield from _server_dir()


class _DevServer(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def url(self) -> str: ...


def _shared_server(
    variable: str, container: str, server: Callable[[], _DevServer]
) -> Iterator[str]:
    """The URL of a server all tests share: yours in `variable`, a container (the factory
    `container` of `testing.containers`), or a throwaway one started here and stopped after."""
    given = os.environ.get(variable)
    if given:
        yield given
        return
    if _containers_wanted():
        from tessera_shared.testing import containers

        with getattr(containers, container)() as url:
            yield str(url)
        return
    running = server()
    running.start()
    try:
        yield running.url()
    finally:
        running.stop()


@pytest.fixture(scope="session")
def postgres_admin_url(servers_dir: Path) -> Iterator[str]:
    """URL of a PostgreSQL server whose user may create databases."""
    yield from _shared_server(
        "TESSERA_TEST_POSTGRES_URL",
        "postgres_container",
        lambda: PostgresServer(servers_dir / "postgres", free_port(), durable=False),
    )


@pytest.fixture(scope="session")
def redis_url(servers_dir: Path) -> Iterator[str]:
    yield from _shared_server(
        "TESSERA_TEST_REDIS_URL",
        "redis_container",
        lambda: RedisServer(servers_dir / "redis", free_port(), durable=False),
    )


@pytest.fixture(scope="session")
def nats_url(servers_dir: Path) -> Iterator[str]:
    yield from _shared_server(
        "TESSERA_TEST_NATS_URL",
        "nats_container",
        lambda: NatsServer(servers_dir / "nats", free_port()),
    )


@pytest.fixture(scope="session")
def nats_cluster(servers_dir: Path) -> Iterator[NatsClusterServers]:
    """A three-node NATS cluster with JetStream shared by the session's tests (`.url` lists
    the nodes). A test may kill and restart nodes (`kill_node`, `start_node`), and must leave
    all three running; it names its streams with `test_id`, as on `nats_url`."""
    cluster = NatsClusterServers(
        servers_dir / "nats-cluster",
        [free_port() for _ in range(3)],
        [free_port() for _ in range(3)],
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for this test; dropped afterwards."""
    with create_database(postgres_admin_url) as url:
        yield url


@pytest.fixture
def test_id() -> str:
    """A random id for naming this test's keys, streams and subjects."""
    return secrets.token_hex(4)


@pytest.fixture
def smtp_catcher() -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher()
    catcher.start()
    try:
        yield catcher
    finally:
        catcher.stop()


class create_database:  # noqa: N801 - used as a context manager, reads like a function
    """Context manager: a new database on the server at `admin_url`, dropped on exit."""

    def __init__(self, admin_url: str, prefix: str = "t") -> None:
        self.admin_url = admin_url
        self.name = f"{prefix}_{secrets.token_hex(6)}"

    def __enter__(self) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return database_url(self.admin_url, self.name)

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


def database_url(server_url: str, database: str) -> str:
    """The same server URL (postgresql://…) with another database name."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _containers_wanted() -> bool:
    return os.environ.get("TESSERA_TEST_CONTAINERS") == "1"


def _running(
    server: PostgresServer | RedisServer | NatsServer | RedisClusterServers | RedisSentinelServers,
) -> Iterator[Any]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres(own_servers_dir: Path) -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test alone, which the test may stop and start again."""
    yield from _running(PostgresServer(own_servers_dir / "postgres", free_port(), durable=False))


@pytest.fixture
def own_redis(own_servers_dir: Path) -> Iterator[RedisServer]:
    """A Redis server of this test alone (append-only file on, so restarts keep data)."""
    yield from _running(RedisServer(own_servers_dir / "redis", free_port(), durable=True))


@pytest.fixture(scope="session")
def redis_cluster(servers_dir: Path) -> Iterator[RedisClusterServers]:
    """A Redis Cluster of 3 masters (no replicas) all tests share; its URL is `.url`
    (`redis+cluster://…`). Tests must not kill its nodes: use `own_redis_cluster` for that."""
    ports = free_cluster_ports(3)
    yield from _running(RedisClusterServers(servers_dir / "redis-cluster", ports))


@pytest.fixture
def own_redis_cluster(own_servers_dir: Path) -> Iterator[RedisClusterServers]:
    """A Redis Cluster of this test alone: 3 masters with a replica each (a killed master's
    replica takes over in seconds)."""
    ports = free_cluster_ports(6)
    cluster = RedisClusterServers(own_servers_dir / "redis-cluster", ports, replicas_per_master=1)
    yield from _running(cluster)


@pytest.fixture(scope="session")
def redis_sentinel(servers_dir: Path) -> Iterator[RedisSentinelServers]:
    """A primary, a replica and 3 sentinels all tests share; its URL is `.url`
    (`redis+sentinel://…/mymaster/0`). A test that kills the primary must `.start()` the
    killed one again afterwards (it comes back as the replica) so the next test can fail over."""
    sentinels = [free_port() for _ in range(3)]
    servers = RedisSentinelServers(
        servers_dir / "redis-sentinel", free_port(), free_port(), sentinels
    )
    yield from _running(servers)


@pytest.fixture
def own_nats(own_servers_dir: Path) -> Iterator[NatsServer]:
    """A NATS server of this test alone, which the test may stop and start again."""
    yield from _running(NatsServer(own_servers_dir / "nats", free_port()))


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    """An HTTP server recording what it receives (an SMS provider stand-in)."""
    sink = HttpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def captured_spans() -> InMemorySpanExporter:
    """Spans finished in this process during the test (a global in-memory tracer provider)."""
    return capture_spans()
