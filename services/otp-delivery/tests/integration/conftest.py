"""Fixtures for the worker's reliability tests: a slow SMTP server and the worker as a process."""

import asyncio
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tessera_shared.devservers import free_port
from tessera_shared.devservers.process import die_with_parent
from tessera_shared.testing.smtp import SmtpCatcher


class _SlowRecipients:
    """Takes `delay_s` to accept each recipient, then hands the message to the catcher's inbox."""

    def __init__(self, catcher: "SlowSmtpCatcher", inbox: object) -> None:
        self._catcher = catcher
        self._inbox = inbox

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        # Delayed before DATA on purpose: a client that vanishes now leaves no message behind.
        catcher = self._catcher
        catcher.open_transactions += 1
        catcher.most_open_transactions = max(
            catcher.most_open_transactions, catcher.open_transactions
        )
        try:
            await asyncio.sleep(catcher.delay_s)
        finally:
            catcher.open_transactions -= 1
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        return await self._inbox.handle_DATA(server, session, envelope)  # type: ignore[attr-defined, no-any-return]


class SlowSmtpCatcher(SmtpCatcher):
    """A real SMTP server that is slow to accept, and records how many clients it served at once.

    Its handlers all run on the controller's one event loop, so the counters need no lock.
    """

    def __init__(self, delay_s: float, port: int | None = None) -> None:
        super().__init__(port)
        self.delay_s = delay_s
        self.open_transactions = 0
        self.most_open_transactions = 0

    def start(self) -> None:
        self._controller = Controller(
            _SlowRecipients(self, self._inbox), hostname=self.host, port=self.port
        )
        self._controller.start()


@pytest.fixture
def slow_smtp() -> Iterator[Callable[[float], SlowSmtpCatcher]]:
    """Starts slow SMTP catchers (`slow_smtp(delay_s)`); all are stopped after the test."""
    started: list[SlowSmtpCatcher] = []

    def start(delay_s: float) -> SlowSmtpCatcher:
        catcher = SlowSmtpCatcher(delay_s)
        catcher.start()
        started.append(catcher)
        return catcher

    yield start
    for catcher in started:
        catcher.stop()


class WorkerProcess:
    """`python -m tessera_otp_delivery` as a child in its own process group (server + workers)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "TESSERA_OTP_PORT": str(self.port)}
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tessera_otp_delivery"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                start_new_session=True,
            )

    async def wait_ready(self, within: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(f"the worker exited at start; see {self.log_path}")
            if await asyncio.to_thread(self._ready):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the worker was not ready within {within}s; see {self.log_path}")

    def _ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/health/ready"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def kill(self) -> None:
        """SIGKILL to the whole group: granian's worker processes die with their server."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture
def worker_process(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], WorkerProcess]]:
    """Makes worker processes from `TESSERA_OTP_*` variables; any still running is killed.

    Killed, not stopped: by teardown the test has asserted what it wanted, and a graceful stop
    would only add the worker's shutdown time to every run.
    """
    made: list[WorkerProcess] = []

    def make(env: dict[str, str]) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(made)}.log")
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.kill()
