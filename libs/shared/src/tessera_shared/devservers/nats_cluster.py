"""A three-node NATS cluster with JetStream, for tests of failover (a node dies, leaders move).

Each node is a nats-server child process on 127.0.0.1 with its own store folder, a client port
and a cluster (route) port; every node routes to the others. `start()` returns once every node
answers JetStream's account-info request, which needs an elected meta leader.
"""

import json
import os
import signal
import socket
import time
from pathlib import Path

from tessera_shared.devservers.nats import _binary
from tessera_shared.devservers.ports import LOOPBACK, wait_for_greeting
from tessera_shared.devservers.process import ManagedProcess, ServerError, child_env

_INBOX = "_INBOX.tessera_devserver"


def jetstream_ready(port: int, timeout: float = 1.0, auth: dict[str, str] | None = None) -> bool:
    """True if the server on `port` answers `$JS.API.INFO` without an error (a meta leader is
    known). Speaks the NATS text protocol directly, so it needs no event loop."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            options = json.dumps({"verbose": False, "pedantic": False, **(auth or {})})
            request = f"CONNECT {options}\r\nSUB {_INBOX} 1\r\nPUB $JS.API.INFO {_INBOX} 0\r\n\r\n"
            conn.sendall(request.encode())
            data = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                chunk = conn.recv(65536)
                if not chunk:
                    return False
                data += chunk
                start = data.find(f"MSG {_INBOX} 1 ".encode())
                if start < 0:
                    continue
                header_end = data.find(b"\r\n", start)
                if header_end < 0:
                    continue
                size = int(data[start:header_end].split()[-1])
                body = data[header_end + 2 : header_end + 2 + size]
                if len(body) < size:
                    continue
                answer = json.loads(body)
                return isinstance(answer, dict) and "error" not in answer
    except (OSError, ValueError):
        return False
    return False


class NatsClusterServers:
    """Three (or more) nats-server processes with JetStream, clustered as `name`.

    `url` lists every node (`nats://127.0.0.1:a,nats://127.0.0.1:b,...`), the form the parts'
    `*_NATS_URL` settings take. `kill_node(i)` SIGKILLs one node; `start_node(i)` brings it
    back with its store, and it catches up with the others.
    """

    def __init__(
        self,
        data_dir: Path,
        client_ports: list[int],
        cluster_ports: list[int],
        name: str = "tessera",
        *,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        """`user` and `password`: clients must give them (routes between nodes need none)."""
        if len(client_ports) != len(cluster_ports) or len(client_ports) < 1:
            raise ValueError("one client port and one cluster port per node")
        self.data_dir = data_dir
        self.client_ports = list(client_ports)
        self.cluster_ports = list(cluster_ports)
        self.name = name
        self._auth = ["--user", user, "--pass", password or ""] if user else []
        self._client_auth = {"user": user, "pass": password or ""} if user else None
        self._nodes = [
            ManagedProcess(f"nats node {i}", data_dir / f"node-{i}.log")
            for i in range(len(client_ports))
        ]

    @property
    def url(self) -> str:
        return ",".join(self.node_url(i) for i in range(len(self._nodes)))

    def node_url(self, i: int) -> str:
        return f"nats://{LOOPBACK}:{self.client_ports[i]}"

    def server_name(self, i: int) -> str:
        """The node's server name, as JetStream reports it (stream leader and peers)."""
        return f"{self.name}-{i}"

    def node_of(self, server_name: str) -> int:
        """The index of the node called `server_name` (e.g. a stream's leader)."""
        return [self.server_name(i) for i in range(len(self._nodes))].index(server_name)

    @property
    def pids(self) -> list[int | None]:
        return [node.pid for node in self._nodes]

    def start(self, timeout: float = 30.0) -> None:
        """Start every node that is not running, then wait until JetStream answers on all."""
        for i in range(len(self._nodes)):
            self._spawn(i)
        self._wait_jetstream(range(len(self._nodes)), timeout)

    def start_node(self, i: int, timeout: float = 30.0) -> None:
        """Restart node `i` with its store; returns when it answers JetStream requests."""
        self._spawn(i)
        self._wait_jetstream([i], timeout)

    def kill_node(self, i: int) -> None:
        """SIGKILL node `i` (no shutdown: like a crashed machine) and reap it."""
        pid = self._nodes[i].pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        self._nodes[i].stop()  # reaps the killed process

    def stop_node(self, i: int) -> None:
        self._nodes[i].stop()

    def stop(self) -> None:
        for node in self._nodes:
            node.stop()

    def _spawn(self, i: int) -> None:
        store = self.data_dir / f"node-{i}"
        store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(
            f"nats://{LOOPBACK}:{port}" for j, port in enumerate(self.cluster_ports) if j != i
        )
        argv = [
            _binary(),
            "-a", LOOPBACK,
            "-p", str(self.client_ports[i]),
            "-n", self.server_name(i),
            "-js",
            "-sd", str(store),
            "--cluster_name", self.name,
            "--cluster", f"nats://{LOOPBACK}:{self.cluster_ports[i]}",
        ]  # fmt: skip
        if routes:
            argv += ["--routes", routes]
        argv += self._auth
        port = self.client_ports[i]
        self._nodes[i].spawn(
            argv, lambda: wait_for_greeting(port, b"", b"INFO", 0.5), env=child_env()
        )

    def _wait_jetstream(self, nodes: "range | list[int]", timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(nodes)
        while waiting:
            waiting = [
                i
                for i in waiting
                if not jetstream_ready(self.client_ports[i], auth=self._client_auth)
            ]
            if not waiting:
                return
            if time.monotonic() > deadline:
                logs = ", ".join(str(self._nodes[i].log_path) for i in waiting)
                raise ServerError(f"JetStream did not become ready in {timeout:.0f}s; see {logs}")
            time.sleep(0.1)
