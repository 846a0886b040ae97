"""The suite as `make run` starts it (with the example web app), and a headless Chromium.

Skipped when Chromium or Playwright is missing (Debian: apt-get install chromium).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from tessera_shared.devservers import free_port
from tessera_shared.testing.browser import chromium_or_skip, headless_chromium

if TYPE_CHECKING:
    from playwright import async_api

ROOT = Path(__file__).resolve().parent.parent
PORTS = (
    "TESSERA_DEV_SMTP_PORT",
    "TESSERA_DEV_INBOX_PORT",
    "TESSERA_DEV_WEB_PORT",
    "TESSERA_DEV_POSTGRES_PORT",
    "TESSERA_DEV_REDIS_PORT",
    "TESSERA_DEV_NATS_PORT",
    "TESSERA_GATEWAY_PORT",
    "TESSERA_IDENTITY_PORT",
    "TESSERA_SESSION_PORT",
    "TESSERA_OTP_PORT",
)
ACCESS_TTL_S = 3
"""The suite's access-token lifetime (TESSERA_SESSION_ACCESS_TTL_S), short so that a test can
see a token really expire; every page refreshes on a 401, so the other tests do not notice."""
LEEWAY_S = 10
"""The gateway and the services accept an access token until `exp` + this many seconds."""


class Runner:
    """`tools/run_local.py` until its banner; its output is kept for a failing test's message."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tools" / "run_local.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "Tessera is running" in line:
                self.ready.set()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The whole suite on free ports, with its own data and no `.env`."""
    home = tmp_path_factory.mktemp("run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update({name: str(free_port()) for name in PORTS})
    env.update(TESSERA_DEV_ENV_FILE=str(home / "no.env"), TESSERA_DEV_DATA_DIR=str(home / "data"))
    env.update(TESSERA_SESSION_ACCESS_TTL_S=str(ACCESS_TTL_S))
    runner = Runner(env)
    try:
        assert runner.ready.wait(120), "no banner:\n" + "".join(runner.lines[-30:])
        yield SimpleNamespace(
            web_url=f"http://localhost:{env['TESSERA_DEV_WEB_PORT']}/",
            web_origin=f"http://localhost:{env['TESSERA_DEV_WEB_PORT']}",
            # As the page calls it (config.js): localhost, the web app's site.
            gateway_url=f"http://localhost:{env['TESSERA_GATEWAY_PORT']}",
            inbox_url=f"http://127.0.0.1:{env['TESSERA_DEV_INBOX_PORT']}",
            # The banner's `PostgreSQL   postgresql://…` and `Redis   redis://…` lines: where to
            # read stored state (refresh families live in Redis under `tessera:`).
            postgres_url=_banner_url(runner, "PostgreSQL"),
            redis_url=_banner_url(runner, "Redis"),
            redis_key_prefix="tessera:",
            access_ttl_s=ACCESS_TTL_S,
            runner=runner,
        )
    finally:
        runner.stop()


def _banner_url(runner: Runner, name: str) -> str:
    """The URL on the banner's line `  <name>   <url>`."""
    return next(
        line.split()[1] for line in runner.lines if line.split()[:1] == [name] and "://" in line
    )


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """An empty folder for this test's screenshots, kept after the run (git-ignored):
    `<repo>/.artifacts/browser/<test name>/`, or `$TESSERA_TEST_ARTIFACTS/browser/<test name>/`."""
    base = Path(os.environ.get("TESSERA_TEST_ARTIFACTS") or ROOT / ".artifacts")
    folder = base / "browser" / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)  # no screenshot of an earlier run stays
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator["async_api.Browser"]:
    # Skipped here, not at import: a conftest may not skip, and `make test` collects it.
    async with headless_chromium(chromium_or_skip()) as browser:
        yield browser


def code_for(inbox_url: str, address: str, nth: int = 1, within: float = 20.0) -> str:
    """The code of the `nth` message (1-based) to `address` in the local inbox, once it came."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        url = f"{inbox_url}/api/messages?to={urllib.parse.quote(address)}"
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            messages = json.loads(answer.read())
        if len(messages) >= nth:
            return str(messages[-nth]["code"])  # newest first
        time.sleep(0.1)
    raise AssertionError(f"no code for {address}")
