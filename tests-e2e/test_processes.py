"""Starting and stopping parts and the dev runner as a user would, from a terminal."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from tessera_shared.devservers import free_port
from tessera_shared.devstack import Part, PartProcess

ROOT = Path(__file__).resolve().parent.parent


def run_part(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_malformed_setting_stops_the_part_with_one_line_naming_the_variable():
    done = run_part("tessera_session", {"TESSERA_SESSION_PORT": "eighty"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "tessera-session: configuration error: TESSERA_SESSION_PORT is invalid: "
        "Expected `int`, got `str`"
    ]


def test_a_taken_port_is_a_clear_message_not_a_traceback():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_part("tessera_gateway", {"TESSERA_GATEWAY_PORT": str(port)})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in done.stderr
    assert "TESSERA_GATEWAY_PORT" in done.stderr


def runner_env(tmp_path: Path) -> dict[str, str]:
    """The runner on free ports with its own data, never the checkout's .env."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")},
        "TESSERA_DEV_ENV_FILE": str(tmp_path / "no.env"),
        "TESSERA_DEV_SMTP_PORT": str(free_port()),
        "TESSERA_DEV_INBOX_PORT": str(free_port()),
        "TESSERA_DEV_WEB_PORT": str(free_port()),
        "TESSERA_DEV_DATA_DIR": str(tmp_path / "data"),
        "TESSERA_DEV_POSTGRES_PORT": str(free_port()),
        "TESSERA_DEV_REDIS_PORT": str(free_port()),
        "TESSERA_DEV_NATS_PORT": str(free_port()),
        "TESSERA_GATEWAY_PORT": str(free_port()),
        "TESSERA_IDENTITY_PORT": str(free_port()),
        "TESSERA_SESSION_PORT": str(free_port()),
        "TESSERA_OTP_PORT": str(free_port()),
    }


class Output:
    """Collects a process's output on a thread, so the test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._banner = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)
            if "Tessera is running" in line:
                self._banner.set()

    def wait_for_banner(self, within: float = 90) -> None:
        assert self._banner.wait(within), "no banner:\n" + "".join(self.lines[-30:])

    def wait_for(self, text: str, within: float) -> str:
        """The first line holding `text`, once it came."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = [line for line in list(self.lines) if text in line]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r}:\n" + "".join(self.lines[-30:]))

    def text(self) -> str:
        self._thread.join(30)
        return "".join(self.lines)


def test_the_dev_runner_brings_the_suite_up_restarts_a_dead_part_and_ctrl_c_leaves_no_process(
    own_servers_dir,
):
    tmp_path = own_servers_dir
    env = runner_env(tmp_path)
    runner = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "run_local.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(runner)
    try:
        output.wait_for_banner()
        with urllib.request.urlopen(
            f"http://127.0.0.1:{env['TESSERA_GATEWAY_PORT']}/health/ready", timeout=5
        ) as answer:
            assert answer.status == 200
        started = psutil.Process(runner.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in started)
        for expected in ("postgres", "redis-server", "nats-server", "tessera_gateway"):
            assert expected in names

        # A part that dies is started again, the suite goes on.
        session = next(p for p in started if "tessera_session" in p.cmdline())
        dead = [session, *session.children()]  # its server worker goes with it
        session.kill()
        line = output.wait_for("run: session exited", within=10)
        assert "(killed by SIGKILL); restart 1 in 0.5 s" in line
        ready(env["TESSERA_SESSION_PORT"], within=20)
        ready(env["TESSERA_GATEWAY_PORT"], within=5)
        _, alive = psutil.wait_procs(dead, timeout=5)
        assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
        started = psutil.Process(runner.pid).children(recursive=True)

        runner.send_signal(signal.SIGINT)
        runner.wait(60)
    finally:
        if runner.poll() is None:
            runner.kill()
    text = output.text()
    assert "everything stopped" in text
    assert "Traceback" not in text
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
    assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()  # data kept for next time


def ready(port: str, within: float) -> None:
    """The part on `port` answers its readiness check, within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as a:
                if a.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"port {port} not ready within {within} s"
        time.sleep(0.1)


def run_to_exit(env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """`make run` expected to stop by itself: its exit status and output."""
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_local.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_dev_runner_refuses_a_taken_port_with_a_clear_message(own_servers_dir):
    tmp_path = own_servers_dir
    env = runner_env(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["TESSERA_IDENTITY_PORT"])))
        taken.listen()
        done = run_to_exit(env, timeout=60)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"port {env['TESSERA_IDENTITY_PORT']} for identity is already in use" in done.stderr
    assert "TESSERA_IDENTITY_PORT" in done.stderr


def test_a_part_that_cannot_start_stops_the_dev_runner_with_a_failing_status(own_servers_dir):
    """A setting a part refuses: the runner names it, stops everything it started and exits
    with 1, so a script running `make run` sees the failure."""
    env = {**runner_env(own_servers_dir), "TESSERA_SESSION_ACCESS_TTL_S": "not-a-number"}
    done = run_to_exit(env, timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "TESSERA_SESSION_ACCESS_TTL_S" in output, output[-3000:]
    assert "run: everything stopped" in done.stderr


def test_a_killed_server_worker_is_replaced_and_the_part_answers_again(
    redis_url: str, nats_url: str, tmp_path: Path
):
    part = Part("session", "tessera_session", "TESSERA_SESSION_", free_port())
    env = {
        "TESSERA_SESSION_PORT": str(part.port),
        "TESSERA_SESSION_WORKERS": "1",
        "TESSERA_SESSION_REDIS_URL": redis_url,
        "TESSERA_SESSION_REDIS_KEY_PREFIX": f"respawn{secrets.token_hex(3)}:",
        "TESSERA_SESSION_NATS_URL": nats_url,
        "TESSERA_SESSION_STREAM_NAME": f"RESPAWN_{secrets.token_hex(3)}",
        "TESSERA_SESSION_SIGNING_KEYS_DIR": str(tmp_path / "keys"),
    }
    log = tmp_path / "session.log"
    process = PartProcess(part, env, log)
    process.start()
    try:
        process.wait_ready(60)
        worker = server_worker(process.pid)
        worker.kill()
        worker.wait(5)
        process.wait_ready(10)  # raises if the part exited instead
        assert process.exited() is None
        assert server_worker(process.pid).pid != worker.pid
    finally:
        process.stop()
    assert "Respawning worker-1" in log.read_text()


def server_worker(pid: int | None) -> psutil.Process:
    """The one granian worker under the part's main process (not multiprocessing's helpers)."""
    assert pid is not None
    workers = [
        child
        for child in psutil.Process(pid).children()
        if "resource_tracker" not in " ".join(child.cmdline())
    ]
    assert len(workers) == 1, [w.cmdline() for w in workers]
    return workers[0]
