"""Two instances of every part sharing one set of stores, as a scaled-out deployment runs them.

A `Topology` says which Redis and NATS URLs the parts get and how to kill a node of either: by
default Redis Sentinel (a primary, a replica, three sentinels) and a three-node NATS JetStream
cluster; a test module can ask for a Redis Cluster (`REDIS_TOPOLOGY = "cluster"`), and
`TESSERA_CLUSTER_REDIS` = single | sentinel | cluster and `TESSERA_CLUSTER_NATS` = single |
cluster override the default. PostgreSQL is one server: its high availability is the operator's
(Patroni, a managed service), the suite needs one primary.

Instance A and B each have a gateway, an identity, a session and an otp-delivery worker; gateway
A routes to identity A and session A, gateway B to identity B and session B (the gateway has one
URL per upstream). Both sessions read the same signing-keys folder; both workers share the one
durable consumer; both identities relay the one outbox. Stores and instances live for one test
module, so each module starts on healthy stores whatever the one before killed.
"""

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import msgspec
import pytest

from tessera_gateway.bootstrap import create_api_key
from tessera_gateway.config import GatewaySettings
from tessera_shared import devservers
from tessera_shared.devservers import NatsServer, RedisServer, free_port
from tessera_shared.devstack import Dependencies, Part, PartProcess, suite_environment
from tessera_shared.testing.http_sink import HttpSink
from tessera_shared.testing.plugin import create_database
from tessera_shared.testing.smtp import SmtpCatcher

# The scenarios' asserts explain themselves like the tests' own (they are not test modules).
pytest.register_assert_rewrite("tests-cluster.scenarios")

ACK_WAIT_S = 15.0
"""The workers' ack wait: how soon the survivor takes over what a killed worker held. It is also
how long a claim in the sent-ids bucket holds, so it must outlast a NATS leader election (4 to
9 s here): with 3 s, a `sent` mark that could not be written during the election let a
redelivery send the code a second time (seen once in the store-failover scenario)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests-cluster" in Path(str(item.path)).parts:
            item.add_marker(pytest.mark.cluster)


# --- topology ---------------------------------------------------------------------------------


class Topology(Protocol):
    """Where the parts' Redis and NATS live, and how to take one of their nodes away."""

    name: str

    @property
    def redis_url(self) -> str: ...

    @property
    def nats_url(self) -> str: ...

    @property
    def stream_replicas(self) -> int:
        """JetStream replicas the parts declare their streams with: 1, or 3 on a cluster."""
        ...

    def nodes(self) -> list[str]:
        """Names of the nodes `kill` accepts: "redis", "nats", or e.g. "redis-0", "nats-2"."""
        ...

    def kill(self, node: str) -> None:
        """SIGKILL one node (no clean shutdown)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _url_of(server: Any) -> str:
    url = server.url
    return str(url() if callable(url) else url)


def _kill_pid(pid: int | None) -> None:
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class SingleNodeTopology:
    """One Redis and one NATS server (JetStream), each a dev server from a PyPI wheel."""

    name = "single"

    def __init__(self, root: Path) -> None:
        self.redis = RedisServer(root / "redis" / "data", free_port(), durable=False)
        self.nats = NatsServer(root / "nats" / "data", free_port())

    @property
    def redis_url(self) -> str:
        return self.redis.url()

    @property
    def nats_url(self) -> str:
        return self.nats.url()

    stream_replicas = 1

    def nodes(self) -> list[str]:
        return ["redis", "nats"]

    def kill(self, node: str) -> None:
        _kill_pid({"redis": self.redis, "nats": self.nats}[node].pid)

    def start(self) -> None:
        self.redis.start()
        self.nats.start()

    def stop(self) -> None:
        self.nats.stop()
        self.redis.stop()


class ComposedTopology:
    """Redis and NATS from any dev-server objects with start/stop/url (and, optionally,
    `kill(node)` and `nodes()`): the cluster classes plug in here."""

    def __init__(self, name: str, redis: Any, nats: Any) -> None:
        self.name = name
        self.redis = redis
        self.nats = nats

    @property
    def redis_url(self) -> str:
        return _url_of(self.redis)

    @property
    def nats_url(self) -> str:
        return _url_of(self.nats)

    @property
    def stream_replicas(self) -> int:
        return int(getattr(self.nats, "replicas", 1))

    def nodes(self) -> list[str]:
        found: list[str] = []
        for kind, servers in (("redis", self.redis), ("nats", self.nats)):
            names = getattr(servers, "nodes", None)
            found += [f"{kind}:{n}" for n in names()] if callable(names) else [kind]
        return found

    def kill(self, node: str) -> None:
        kind, _, which = node.partition(":")
        servers = self.redis if kind == "redis" else self.nats
        if which and callable(getattr(servers, "kill", None)):
            servers.kill(which)
        else:
            _kill_pid(getattr(servers, "pid", None))

    def start(self) -> None:
        self.redis.start()
        self.nats.start()

    def stop(self) -> None:
        self.nats.stop()
        self.redis.stop()


class SentinelNodes:
    """`RedisSentinelServers` (a primary, a replica, three sentinels) as a topology's Redis."""

    def __init__(self, root: Path) -> None:
        self.servers = devservers.RedisSentinelServers(  # type: ignore[attr-defined]
            root, free_port(), free_port(), [free_port() for _ in range(3)]
        )
        self.url = self.servers.url

    def start(self) -> None:
        self.servers.start()
        self.servers.wait_ready()

    def stop(self) -> None:
        self.servers.stop()

    def nodes(self) -> list[str]:
        return ["primary", *(str(port) for port in self.servers.pids)]

    def kill(self, node: str) -> None:
        if node == "primary":
            self.servers.kill_primary()
        else:
            self.servers.kill(int(node))


class RedisClusterNodes:
    """`RedisClusterServers` (three masters, one replica each) as a topology's Redis."""

    def __init__(self, root: Path) -> None:
        ports = devservers.free_cluster_ports(6)  # type: ignore[attr-defined]
        self.servers = devservers.RedisClusterServers(  # type: ignore[attr-defined]
            root, ports, replicas_per_master=1
        )
        self.url = self.servers.url

    def start(self) -> None:
        self.servers.start()

    def stop(self) -> None:
        self.servers.stop()

    def nodes(self) -> list[str]:
        return ["primary", *(str(port) for port in self.servers.ports)]

    def kill(self, node: str) -> None:
        """A node by port, or "primary": the master serving the gateway's rate limits
        (`{ratelimit}`), which every request touches, so that every client meets the failover."""
        port = self.servers.master_of("{ratelimit}") if node == "primary" else int(node)
        self.servers.kill_node(port)


class NatsClusterNodes:
    """`NatsClusterServers` (three JetStream nodes) as a topology's NATS."""

    def __init__(self, root: Path) -> None:
        self.servers = devservers.NatsClusterServers(  # type: ignore[attr-defined]
            root, [free_port() for _ in range(3)], [free_port() for _ in range(3)]
        )
        self.url = self.servers.url
        self.replicas = len(self.servers.client_ports)

    def start(self) -> None:
        self.servers.start()

    def stop(self) -> None:
        self.servers.stop()

    def nodes(self) -> list[str]:
        return [str(i) for i in range(self.replicas)]

    def kill(self, node: str) -> None:
        self.servers.kill_node(int(node))


def topology(root: Path, redis_mode: str | None = None) -> Topology:
    """Redis Sentinel (or `redis_mode`) and a NATS cluster, unless `TESSERA_CLUSTER_REDIS`
    (single | sentinel | cluster) or `TESSERA_CLUSTER_NATS` (single | cluster) say otherwise."""
    redis_mode = os.environ.get("TESSERA_CLUSTER_REDIS") or redis_mode or "sentinel"
    nats_mode = os.environ.get("TESSERA_CLUSTER_NATS") or "cluster"
    single = SingleNodeTopology(root)
    if (redis_mode, nats_mode) == ("single", "single"):
        return single
    redis: Any = {
        "single": lambda: single.redis,
        "sentinel": lambda: SentinelNodes(root / "redis-sentinel"),
        "cluster": lambda: RedisClusterNodes(root / "redis-cluster"),
    }[redis_mode]()
    nats: Any = {
        "single": lambda: single.nats,
        "cluster": lambda: NatsClusterNodes(root / "nats-cluster"),
    }[nats_mode]()
    return ComposedTopology(f"redis-{redis_mode}+nats-{nats_mode}", redis, nats)


# --- the suite, twice -------------------------------------------------------------------------


class Instance(msgspec.Struct, frozen=True):
    """One copy of every part: gateway, identity, session, otp-delivery."""

    name: str
    parts: list[Part]
    env: dict[str, str]

    def port(self, part: str) -> int:
        return next(p.port for p in self.parts if p.name == part)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.port('gateway')}"


class Cluster:
    """Both instances running; `processes[name]` are instance `name`'s parts."""

    def __init__(
        self,
        topology: Topology,
        instances: list[Instance],
        processes: dict[str, list[PartProcess]],
        api_key: str,
        mail: SmtpCatcher,
        sms: HttpSink,
        keys_dir: Path,
        log: Path,
    ) -> None:
        self.topology = topology
        self.instances = instances
        self.processes = processes
        self.api_key = api_key
        self.mail = mail
        self.sms = sms
        self.keys_dir = keys_dir
        self.log = log

    @property
    def env(self) -> dict[str, str]:
        return self.instances[0].env

    @property
    def gateways(self) -> list[str]:
        return [i.gateway_url for i in self.instances]

    def process(self, instance: str, part: str) -> PartProcess:
        return next(p for p in self.processes[instance] if p.part.name == part)

    def kill(self, instance: str, part: str) -> None:
        """SIGKILL the part's whole process group (the server and its workers)."""
        process = self.process(instance, part)
        pid = process.pid
        assert pid is not None, f"{part} {instance} is not running"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)

    def restart(self, instance: str, part: str) -> None:
        process = self.process(instance, part)
        process.stop()
        process.start()
        process.wait_ready(60)


def _instance_parts() -> list[Part]:
    return [
        Part("identity", "tessera_identity", "TESSERA_IDENTITY_", free_port()),
        Part("session", "tessera_session", "TESSERA_SESSION_", free_port()),
        Part("otp-delivery", "tessera_otp_delivery", "TESSERA_OTP_", free_port()),
        Part("gateway", "tessera_gateway", "TESSERA_GATEWAY_", free_port()),
    ]


@pytest.fixture(scope="session")
def mail() -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="session")
def sms() -> Iterator[HttpSink]:
    sink = HttpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def stores(servers_dir: Path, request: pytest.FixtureRequest) -> Iterator[Topology]:
    redis_mode = getattr(request.module, "REDIS_TOPOLOGY", None)
    chosen = topology(
        servers_dir / f"cluster-{request.module.__name__.rsplit('.', 1)[-1]}", redis_mode
    )
    chosen.start()
    try:
        yield chosen
    finally:
        chosen.stop()


def cluster_environment(
    parts: list[Part],
    stores: Topology,
    database_url: str,
    run_id: str,
    keys_dir: Path,
    mail: SmtpCatcher,
    sms: HttpSink,
) -> dict[str, str]:
    return suite_environment(
        parts,
        Dependencies(
            postgres_url=database_url, redis_url=stores.redis_url, nats_url=stores.nats_url
        ),
        stream_name=f"CLUSTER_{run_id}",
        subject_prefix=f"cluster{run_id}.",
        redis_key_prefix=f"cluster{run_id}:",
        extra={
            "TESSERA_OTP_EMAIL_PROVIDERS": "smtp",
            "TESSERA_OTP_SMTP_HOST": mail.host,
            "TESSERA_OTP_SMTP_PORT": str(mail.port),
            "TESSERA_OTP_SMTP_SECURITY": "none",
            "TESSERA_OTP_SMS_PROVIDERS": "webhook",
            "TESSERA_OTP_SMS_WEBHOOK_URL": f"{sms.url}/sms",
            "TESSERA_OTP_SENT_BUCKET": f"cluster_sent_{run_id}",
            "TESSERA_OTP_ACK_WAIT_S": str(ACK_WAIT_S),
            "TESSERA_IDENTITY_STREAM_REPLICAS": str(stores.stream_replicas),
            "TESSERA_SESSION_STREAM_REPLICAS": str(stores.stream_replicas),
            "TESSERA_OTP_STREAM_REPLICAS": str(stores.stream_replicas),
            "TESSERA_OTP_RETRY_BASE_S": "0.5",
            "TESSERA_SESSION_SIGNING_KEYS_DIR": str(keys_dir),
            # Rotation: every session re-reads the folder each second; a new key signs only once
            # every gateway may refetch for it (their 30 s unknown-kid limit + the reload).
            "TESSERA_SESSION_SIGNING_KEYS_RELOAD_S": "1",
            "TESSERA_SESSION_SIGNING_KEY_DELAY_S": str(SIGNING_KEY_DELAY_S),
            # Clients say who they are in X-Forwarded-For: each test is its own client IP.
            "TESSERA_GATEWAY_TRUSTED_PROXIES": "127.0.0.1/32",
            "TESSERA_GATEWAY_RATE_LIMIT_AUTH_PER_MINUTE": str(AUTH_PER_MINUTE),
            "TESSERA_GATEWAY_RATE_LIMIT_REGISTRATION_PER_MINUTE": "1000",
            "TESSERA_GATEWAY_RATE_LIMIT_DEFAULT_PER_MINUTE": "100000",
            "TESSERA_GATEWAY_RATE_LIMIT_ACCOUNT_PER_MINUTE": "1000",
            "TESSERA_GATEWAY_RATE_LIMIT_DEVICE_PER_MINUTE": "1000",
            "TESSERA_GATEWAY_RATE_LIMIT_API_KEY_PER_MINUTE": "100000",
            "TESSERA_IDENTITY_CODES_PER_IP_PER_HOUR": "100000",
            "TESSERA_IDENTITY_RESEND_COOLDOWN_S": "0",
        },
    )


AUTH_PER_MINUTE = 20
SIGNING_KEY_DELAY_S = 32
"""`JwksCache`'s 30 s between unknown-kid refetches, plus the 1 s reload and a margin."""
"""Sign-in routes per client IP and minute (and burst), shared by both gateways."""


@pytest.fixture(scope="module")
def cluster(
    postgres_admin_url: str,
    stores: Topology,
    mail: SmtpCatcher,
    sms: HttpSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    run_id = secrets.token_hex(3)
    root = tmp_path_factory.mktemp("cluster")
    log, keys_dir = root / "cluster.log", root / "keys"
    with create_database(postgres_admin_url, prefix="cluster") as database_url:
        instances = []
        for name in ("A", "B"):
            parts = _instance_parts()
            env = cluster_environment(parts, stores, database_url, run_id, keys_dir, mail, sms)
            instances.append(Instance(name, parts, env))
        subprocess.run(
            [sys.executable, "-m", "tessera_identity", "migrate"],
            env={**os.environ, **instances[0].env},
            check=True,
            capture_output=True,
        )
        # One signing key before either session starts: both must sign with the same one.
        subprocess.run(
            [sys.executable, "-m", "tessera_session", "keys", "rotate"],
            env={**os.environ, **instances[0].env},
            check=True,
            capture_output=True,
        )
        processes = {i.name: [PartProcess(p, i.env, log) for p in i.parts] for i in instances}
        try:
            for i in instances:
                for process in processes[i.name]:
                    process.start()
            for i in instances:
                for process in processes[i.name]:
                    process.wait_ready(90)
            settings = GatewaySettings(
                redis_url=instances[0].env["TESSERA_GATEWAY_REDIS_URL"],
                api_key_prefix=instances[0].env["TESSERA_GATEWAY_API_KEY_PREFIX"],
            )
            api_key = asyncio.run(create_api_key(settings, "cluster"))
            yield Cluster(stores, instances, processes, api_key, mail, sms, keys_dir, log)
        except BaseException:
            sys.stderr.write(log.read_text()[-20000:] if log.exists() else "(no log)\n")
            raise
        finally:
            for i in reversed(instances):
                for process in reversed(processes[i.name]):
                    process.stop()
