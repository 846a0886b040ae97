"""`make run` as a developer meets it: their settings win, limits a person never hits, a
startup to follow and a banner naming what they need."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tessera_shared.testing.smtp import SmtpCatcher

from .test_processes import ROOT, Output, runner_env
from .test_registration import PASSWORD, code_for, post, registration
from .test_sessions import authenticate

PRETTY = re.compile(r"^\[(identity|session|otp-delivery|gateway)\] \d\d:\d\d:\d\d\.\d{3} [A-Z]+ ")


@pytest.fixture
def start_runner() -> Iterator[Callable[..., SimpleNamespace]]:
    """Starts `tools/run_local.py` as `make run` does, until its banner; SIGINT at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(env: dict[str, str], mail: SmtpCatcher | None = None) -> SimpleNamespace:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "tools" / "run_local.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        output = Output(process)
        output.wait_for_banner()
        key = output.wait_for("API key ", within=5).split()[2]
        return SimpleNamespace(
            process=process,
            mail=mail,
            output=output,
            env=env,
            gateway_url=f"http://127.0.0.1:{env['TESSERA_GATEWAY_PORT']}",
            api_key=key,
        )

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def test_the_environment_wins_over_dotenv_which_wins_over_the_runners_defaults(
    own_servers_dir: Path, start_runner, mail: SmtpCatcher
):
    env = runner_env(own_servers_dir)
    dotenv = own_servers_dir / "custom.env"
    dotenv.write_text(
        "# the developer's own SMTP server, and no local inbox\n"
        "TESSERA_DEV_INBOX=false\n"
        "TESSERA_OTP_EMAIL_PROVIDERS=smtp\n"
        "TESSERA_OTP_SMTP_HOST=127.0.0.1\n"
        "TESSERA_OTP_SMTP_PORT=9\n"  # the environment below names the right one
        "TESSERA_OTP_SMTP_SECURITY=none\n"
        "TESSERA_GATEWAY_RATE_LIMIT_REGISTRATION_PER_MINUTE=3\n"
        "TESSERA_GATEWAY_RATE_LIMIT_API_KEY_PER_MINUTE=44\n"
    )
    env.update(
        TESSERA_DEV_ENV_FILE=str(dotenv),
        TESSERA_OTP_SMTP_PORT=str(mail.port),
        TESSERA_GATEWAY_RATE_LIMIT_REGISTRATION_PER_MINUTE="33",
        TESSERA_LOG_FORMAT="pretty",
    )
    runner = start_runner(env, mail)
    text = "".join(runner.output.lines)
    for step in ("PostgreSQL ready (", "Redis ready (", "NATS ready (", "migrations: "):
        assert step in text, step
    for part in ("identity", "session", "otp-delivery", "gateway"):
        assert f"\n{part} ready (" in text, part
    assert f"email delivery     smtp (127.0.0.1:{mail.port})" in text
    assert "SMS delivery       console" in text
    assert "inbox (codes)      off" in text
    assert "sign-in 60/min per IP" in text
    assert f"{runner.gateway_url}/docs" in text

    # The mail reaches the developer's server: .env's provider, the environment's port.
    address = "dotenv.jane@example.com"
    status, headers, body = post(runner, "/v1/users/initiate-registration", registration(address))
    assert status == 200, body
    assert headers["ratelimit-limit"] == "33"  # per IP, the environment's; the API key's 44
    verification = json.dumps(
        {"user_id": body["user_id"], "credential_type": "email", "otp": code_for(runner, address)}
    ).encode()
    status, _, _ = post(runner, "/v1/users/verify-registration", verification)
    assert status == 200

    # Ten sign-ins in a row, as a person trying things by hand: none refused.
    answers = [authenticate(runner, address, PASSWORD) for _ in range(10)]
    assert [status for status, _, _ in answers] == [200] * 10
    assert answers[-1][1]["ratelimit-limit"] == "60"
    assert int(answers[-1][1]["ratelimit-remaining"]) >= 50

    pretty = [line for line in runner.output.lines if PRETTY.match(line)]
    assert pretty, "".join(runner.output.lines[-20:])
    assert not [line for line in runner.output.lines if line.startswith("[gateway] {")]


def test_with_no_delivery_settings_a_code_reaches_the_local_inbox(
    own_servers_dir: Path, start_runner
):
    env = runner_env(own_servers_dir)
    runner = start_runner(env)
    inbox = f"http://127.0.0.1:{env['TESSERA_DEV_INBOX_PORT']}"
    assert f"inbox (codes)      {inbox}/" in "".join(runner.output.lines)
    address = "inbox.jane@example.com"
    status, _, body = post(runner, "/v1/users/initiate-registration", registration(address))
    assert status == 200, body
    deadline = time.monotonic() + 20
    while True:
        url = f"{inbox}/api/messages?to={address}"
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310
            messages = json.loads(answer.read())
        if messages or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [m["channel"] for m in messages] == ["email"]
    assert re.fullmatch(r"\d{6}", messages[0]["code"])


MARKER = "<!-- quickstart:"
BASH = shutil.which("bash") or ""


def quickstart_block() -> str:
    """The first ```sh block after the quickstart marker in README.md."""
    readme = (ROOT / "README.md").read_text()
    after = readme[readme.index(MARKER) :]
    found = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert found, "no sh block after the quickstart marker"
    return found.group(1)


TOOLS = bool(BASH and shutil.which("curl") and shutil.which("jq"))


@pytest.mark.skipif(not TOOLS, reason="needs bash, curl and jq")
def test_the_readme_quickstart_signs_up_signs_in_refreshes_and_signs_out_as_written(
    own_servers_dir: Path, start_runner: Callable[..., SimpleNamespace]
) -> None:
    env = runner_env(own_servers_dir)
    runner = start_runner(env)
    shell_env = {
        **env,
        "GW": runner.gateway_url,
        "INBOX": f"http://127.0.0.1:{env['TESSERA_DEV_INBOX_PORT']}",
    }
    done = subprocess.run(
        [BASH, "-e", "-o", "pipefail", "-c", quickstart_block()],
        env=shell_env,
        cwd=own_servers_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    answers = [json.loads(part) for part in _json_documents(done.stdout)]
    verified, me, logged_out = answers
    assert verified["status"] == "success"
    assert me["status"] == "active"
    [email] = [c for c in me["credentials"] if c["type"] == "email"]
    assert email["verified"] is True
    assert re.fullmatch(r"jane\.\d+@example\.com", email["value"])
    assert logged_out == {"status": 200, "message": "Logged out successfully"}


def _json_documents(text: str) -> list[str]:
    """jq's pretty output: one JSON document after another."""
    decoder = json.JSONDecoder()
    documents, at = [], 0
    while (at := _skip_space(text, at)) < len(text):
        value, end = decoder.raw_decode(text, at)
        documents.append(json.dumps(value))
        at = end
    return documents


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at
