"""Starts the whole suite as real processes: used by `make run` and by the e2e tests.

Knows the parts only by module name and settings prefix (no imports of their code).
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, NoReturn

import msgspec

from tessera_shared.devservers.process import die_with_parent
from tessera_shared.restarts import (
    GiveUp,
    Restart,
    RestartPolicy,
    decide,
    give_up_line,
    restart_line,
)


class Part(msgspec.Struct, frozen=True):
    name: str
    module: str
    prefix: str
    port: int
    health: str = "/health/ready"
    """Answers 200 once the part serves."""


def default_parts(
    gateway: int = 8080, identity: int = 8001, session: int = 8002, otp: int = 8003
) -> list[Part]:
    """The four parts in start order (the gateway last: it checks the others' health)."""
    return [
        Part("identity", "tessera_identity", "TESSERA_IDENTITY_", identity),
        Part("session", "tessera_session", "TESSERA_SESSION_", session),
        Part("otp-delivery", "tessera_otp_delivery", "TESSERA_OTP_", otp),
        Part("gateway", "tessera_gateway", "TESSERA_GATEWAY_", gateway),
    ]


DEV_INTERNAL_TOKEN = "dev-only-internal-token-change-me"
"""The parts' own development default of their shared X-Internal-Token, stated once for all."""


class Dependencies(msgspec.Struct, frozen=True, kw_only=True):
    postgres_url: str
    redis_url: str
    nats_url: str


def suite_environment(
    parts: list[Part],
    deps: Dependencies,
    *,
    stream_name: str = "TESSERA_OTP",
    subject_prefix: str = "",
    redis_key_prefix: str = "tessera:",
    internal_token: str = DEV_INTERNAL_TOKEN,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment variables wiring the parts to each other and to their servers; identity,
    session and the gateway share `internal_token`."""
    by_name = {p.name: p for p in parts}
    env = {f"{p.prefix}PORT": str(p.port) for p in parts}
    env.update(
        {
            "TESSERA_IDENTITY_DATABASE_URL": deps.postgres_url,
            "TESSERA_IDENTITY_NATS_URL": deps.nats_url,
            "TESSERA_IDENTITY_STREAM_NAME": stream_name,
            "TESSERA_IDENTITY_SUBJECT_PREFIX": subject_prefix,
            "TESSERA_IDENTITY_SESSION_JWKS_URL": (
                f"http://127.0.0.1:{by_name['session'].port}/.well-known/jwks.json"
            ),
            "TESSERA_IDENTITY_SESSION_URL": f"http://127.0.0.1:{by_name['session'].port}",
            "TESSERA_IDENTITY_INTERNAL_TOKEN": internal_token,
            "TESSERA_SESSION_REDIS_URL": deps.redis_url,
            "TESSERA_SESSION_REDIS_KEY_PREFIX": redis_key_prefix,
            "TESSERA_SESSION_IDENTITY_URL": f"http://127.0.0.1:{by_name['identity'].port}",
            "TESSERA_SESSION_INTERNAL_TOKEN": internal_token,
            "TESSERA_SESSION_NATS_URL": deps.nats_url,
            "TESSERA_SESSION_STREAM_NAME": f"{stream_name}_SESSION",
            "TESSERA_SESSION_SUBJECT_PREFIX": subject_prefix,
            "TESSERA_OTP_NATS_URL": deps.nats_url,
            "TESSERA_OTP_STREAM_NAME": stream_name,
            "TESSERA_OTP_SUBJECT_PREFIX": subject_prefix,
            "TESSERA_GATEWAY_REDIS_URL": deps.redis_url,
            "TESSERA_GATEWAY_API_KEY_PREFIX": f"{redis_key_prefix}apikey:",
            "TESSERA_GATEWAY_RATE_LIMIT_PREFIX": f"{redis_key_prefix}rl:",
            "TESSERA_GATEWAY_IDENTITY_URL": f"http://127.0.0.1:{by_name['identity'].port}",
            "TESSERA_GATEWAY_SESSION_URL": f"http://127.0.0.1:{by_name['session'].port}",
            "TESSERA_GATEWAY_SESSION_JWKS_URL": (
                f"http://127.0.0.1:{by_name['session'].port}/.well-known/jwks.json"
            ),
            "TESSERA_GATEWAY_SESSION_KEY_PREFIX": redis_key_prefix,
            "TESSERA_GATEWAY_INTERNAL_TOKEN": internal_token,
        }
    )
    env.update(extra or {})
    return env


def _child_setup() -> None:
    # A child inherits the blocked-signal mask: one started while the runner holds Ctrl-C and
    # SIGTERM (see `_signals_held`) would otherwise never see a stop.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    die_with_parent()


class PartProcess:
    """One part as a child process; its output goes to `sink`, each line tagged with its name
    (and passed through `render` first, when given: the dev runner's readable logs)."""

    def __init__(
        self,
        part: Part,
        env: Mapping[str, str],
        sink: IO[str] | Path,
        render: Callable[[str], str] | None = None,
    ) -> None:
        self.part = part
        self.env = {**os.environ, **env}
        self.sink = sink
        self.render = render
        self._process: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.part.port}"

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.part.module],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_child_setup,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        if isinstance(self.sink, Path):
            with self.sink.open("a", encoding="utf-8") as out:
                for raw in self._process.stdout:
                    out.write(self._tagged(raw))
                    out.flush()
        else:
            for raw in self._process.stdout:
                self.sink.write(self._tagged(raw))
                self.sink.flush()

    def _tagged(self, raw: bytes) -> str:
        tag = f"[{self.part.name}] "
        line = raw.decode(errors="replace")
        if self.render is None:
            return tag + line
        return "".join(f"{tag}{row}\n" for row in self.render(line).split("\n"))

    @property
    def pid(self) -> int | None:
        """The part's main process (the server's master), while it was started and not stopped."""
        return None if self._process is None else self._process.pid

    def exited(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.exited()
            if code is not None:
                raise RuntimeError(f"{self.part.name} exited with status {code} while starting")
            try:
                with urllib.request.urlopen(self.url + self.part.health, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.part.name} not ready after {timeout:.0f}s ({self.url})")

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        # The part runs in its own session: anything it left behind (a server worker) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if self._pump is not None:
            self._pump.join(2)


class PartKeptFailingError(RuntimeError):
    """A part kept exiting: restarted as often as the policy allows; the message says which."""


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C / SIGTERM wait until a process is fully started or stopped, so none is lost."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Supervisor:
    """Keeps started parts running: one that exits on its own is restarted after a backoff,
    with one line on `log`; past the policy's limit, `PartKeptFailingError`: the caller stops
    everything."""

    def __init__(
        self,
        processes: list[PartProcess],
        policy: RestartPolicy,
        log: IO[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.processes = processes
        self.policy = policy
        self.log = log
        self._clock = clock
        self._restarted_at: dict[str, list[float]] = {}
        self._due: dict[str, float] = {}  # part name -> when to start it again

    def run(self, interval: float = 0.2) -> NoReturn:
        """Check every `interval` s until an exception: the caller's Stop, PartKeptFailingError."""
        while True:
            self.check()
            time.sleep(interval)

    def check(self) -> None:
        """One look at every part: note an exit, start again a part whose wait is over."""
        now = self._clock()
        for process in self.processes:
            name = process.part.name
            due = self._due.get(name)
            if due is not None:
                if now >= due:
                    del self._due[name]
                    with _signals_held():
                        process.start()
                continue
            code = process.exited()
            if code is None:
                continue
            with _signals_held():
                process.stop()  # reaps it, and kills what it left in its group (a worker)
            history = self._restarted_at.setdefault(name, [])
            verdict = decide(self.policy, tuple(history), now)
            if isinstance(verdict, GiveUp):
                raise PartKeptFailingError(give_up_line(name, code, verdict, self.policy))
            self._schedule(name, code, verdict, now)

    def _schedule(self, name: str, code: int, restart: Restart, now: float) -> None:
        self._restarted_at[name].append(now)
        self._due[name] = now + restart.delay_s
        self.log.write(restart_line(name, code, restart, self.policy) + "\n")
        self.log.flush()
