"""A server binary run as our child: started, waited for, and stopped by its own pid."""

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict

_PR_SET_PDEATHSIG = 1


class ServerError(RuntimeError):
    """A server could not start; the message says which and where its log is."""


def die_with_parent() -> None:
    # If the runner is killed hard, its servers go too instead of lingering on their ports.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    """One long-running child process with its output in a log file."""

    def __init__(self, name: str, log_path: Path, stop_signal: int = signal.SIGTERM) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def spawn(
        self,
        argv: Sequence[str],
        ready: Callable[[], bool],
        *,
        timeout: float = 30.0,
        user: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        if self.pid is not None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                env=env,
                **drop_privileges(user),
                start_new_session=True,  # Ctrl-C in a terminal reaches the runner only
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerError(f"{self.name} exited at start; see {self.log_path}")
            if ready():
                return
            time.sleep(0.05)
        self.stop()
        raise ServerError(
            f"{self.name} did not become ready in {timeout:.0f}s; see {self.log_path}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Privileges(TypedDict, total=False):
    user: str
    group: str
    extra_groups: list[str]


def drop_privileges(user: str | None) -> Privileges:
    """subprocess arguments that run a child as `user` with only that user's group."""
    if user is None:
        return {}
    # Without group/extra_groups the child keeps root's gid, and folder group bits apply.
    return {"user": user, "group": user, "extra_groups": []}


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    env.update({"LC_ALL": "C", "LANG": "C"}, **extra)
    return env
