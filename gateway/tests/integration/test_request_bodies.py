"""Bad, slow and oversized request bodies, sent as raw bytes to the gateway running as a process."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tessera_shared.devservers import free_port
from tessera_shared.testing.raw_http import RawAnswer as Answer

INVALID_UTF8_LOGIN = b'{"email":"\xff@example.com","password":"Correct-Horse-9x"}'
LATIN1_LOGIN = b'{"email":"jos\xe9@example.com","password":"Correct-Horse-9x"}'
REGISTRATION = (
    b'{"email":"\xff@example.com","password":"Correct-Horse-9x",'
    b'"termsAccepted":true,"privacyPolicyAccepted":true}'
)
DEEP = b'{"email":"ann@example.com","password":"x","extra":' + b"[" * 1000 + b"]" * 1000 + b"}"


class Gateway:
    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> "Answer":
        with self.connect() as sock:
            sock.sendall(request_head(path, len(body), content_type) + body)
            return read_answer(sock)

    def error_lines(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if '"level":"error"' in line]


def request_head(
    path: str, length: int, content_type: str = "application/json", *, keep_alive: bool = False
) -> bytes:
    connection = "keep-alive" if keep_alive else "close"
    return (
        f"POST {path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nConnection: {connection}\r\n\r\n"
    ).encode()


def read_answer(sock: socket.socket) -> Answer:
    """The whole answer, read until the gateway closes the connection."""
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    return Answer(raw)


def wait_until_serving(process: subprocess.Popen[bytes], gateway: Gateway) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the gateway exited ({process.returncode}):\n{gateway.log.read_text()}")
        try:
            with gateway.connect(timeout=2) as sock:
                sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n")
                if read_answer(sock).status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the gateway did not serve within 60 s:\n{gateway.log.read_text()}")


@pytest.fixture
def start_gateway(
    tmp_path: Path, redis_url: str, test_id: str, identity_upstream, session_upstream
) -> Iterator[Callable[..., Gateway]]:
    """Starts `python -m tessera_gateway` in front of the stand-ins, with extra settings."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> Gateway:
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TESSERA_GATEWAY_")},
            "TESSERA_GATEWAY_PORT": str(port),
            "TESSERA_GATEWAY_REDIS_URL": redis_url,
            "TESSERA_GATEWAY_IDENTITY_URL": identity_upstream.url,
            "TESSERA_GATEWAY_SESSION_URL": session_upstream.url,
            "TESSERA_GATEWAY_SESSION_JWKS_URL": f"{session_upstream.url}/.well-known/jwks.json",
            "TESSERA_GATEWAY_RATE_LIMIT_PREFIX": f"t{test_id}:rl:",
            **{f"TESSERA_GATEWAY_{name.upper()}": value for name, value in settings.items()},
        }
        log = tmp_path / f"gateway-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "tessera_gateway"], env=env, stdout=output, stderr=output
            )
        processes.append(process)
        gateway = Gateway(port, log)
        wait_until_serving(process, gateway)
        return gateway

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_a_sign_in_with_invalid_utf8_is_a_400_invalid_json_and_counts_against_the_limit(
    start_gateway, session_upstream
):
    gateway = start_gateway(rate_limit_auth_per_minute="5")
    answers = [gateway.post("/auth/login", INVALID_UTF8_LOGIN) for _ in range(5)]
    assert [a.status for a in answers] == [400] * 5
    assert {a.json()["code"] for a in answers} == {"invalid_json"}
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["4", "3", "2", "1", "0"]
    refused = gateway.post("/auth/login", INVALID_UTF8_LOGIN)
    assert refused.status == 429
    assert refused.json()["code"] == "rate_limited"
    assert session_upstream.bodies == []
    assert gateway.error_lines() == []


def test_a_latin1_body_is_a_400_invalid_json(start_gateway, identity_upstream, session_upstream):
    gateway = start_gateway()
    latin1 = "application/json; charset=latin1"
    for path in ("/auth/login", "/auth/register"):
        answer = gateway.post(path, LATIN1_LOGIN, content_type=latin1)
        assert answer.status == 400, answer.body
        assert answer.json()["code"] == "invalid_json"
    registration = gateway.post("/auth/register", REGISTRATION)
    assert registration.status == 400
    assert registration.json()["code"] == "invalid_json"
    assert identity_upstream.bodies == []
    assert session_upstream.bodies == []
    assert gateway.error_lines() == []


def test_deeply_nested_json_is_a_400_invalid_json_and_counts_against_the_limit(
    start_gateway, identity_upstream, session_upstream
):
    gateway = start_gateway(rate_limit_auth_per_minute="2")
    answers = [gateway.post("/auth/login", DEEP) for _ in range(2)]
    assert [a.status for a in answers] == [400, 400]
    assert {a.json()["code"] for a in answers} == {"invalid_json"}
    assert gateway.post("/auth/login", DEEP).status == 429
    registration = gateway.post("/auth/register", DEEP)
    assert registration.status == 400
    assert registration.json()["code"] == "invalid_json"
    assert identity_upstream.bodies == []
    assert session_upstream.bodies == []
    assert gateway.error_lines() == []


def test_a_body_that_stops_arriving_is_a_408_within_the_timeout_and_the_connection_closes(
    start_gateway, identity_upstream
):
    gateway = start_gateway(body_read_timeout_s="1", rate_limits_enabled="false")
    with gateway.connect(timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(request_head("/auth/register", 100, keep_alive=True) + b"{}")
        answer = read_answer(sock)  # returns only once the gateway closed the connection
        waited = time.monotonic() - started
    assert answer.status == 408
    assert answer.json()["code"] == "request_timeout"
    assert answer.headers["connection"] == "close"
    assert 0.9 <= waited < 3
    assert identity_upstream.bodies == []
    assert gateway.error_lines() == []


def test_a_1_mb_upload_reads_its_413_every_time(start_gateway, identity_upstream):
    gateway = start_gateway(rate_limits_enabled="false")
    body = b'{"a":"' + b"x" * (1024 * 1024) + b'"}'
    statuses = []
    for _ in range(30):
        with gateway.connect() as sock:
            # As a client on a real network: the body leaves in pieces, not in one write.
            sock.sendall(request_head("/auth/register", len(body)))
            for start in range(0, len(body), 64 * 1024):
                sock.sendall(body[start : start + 64 * 1024])
                time.sleep(0.002)
            answer = read_answer(sock)
        statuses.append((answer.status, answer.json()["code"]))
    assert statuses == [(413, "payload_too_large")] * 30
    assert identity_upstream.bodies == []


def test_a_client_leaving_mid_body_is_logged_as_info_without_an_error(start_gateway):
    gateway = start_gateway(rate_limits_enabled="false")
    with gateway.connect() as sock:
        sock.sendall(request_head("/auth/register", 100) + b'{"em')
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while "client disconnected" not in gateway.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = gateway.log.read_text()
    assert "client disconnected" in log
    assert gateway.error_lines() == []
    access = [json.loads(line) for line in log.splitlines() if '"logger":"tessera.access"' in line]
    assert [(a["msg"], a["level"]) for a in access if "register" in a["msg"]] == [
        ("POST /auth/register 499", "info")
    ]


def test_a_client_expecting_100_continue_reads_its_413_without_sending_the_body(start_gateway):
    gateway = start_gateway(rate_limits_enabled="false")
    head = request_head("/auth/register", 1024 * 1024).replace(
        b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"
    )
    with gateway.connect(timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(head)
        answer = read_answer(sock)
    assert answer.status == 413  # not `100 Continue`: the gateway invites no body it refuses
    assert answer.json()["code"] == "payload_too_large"
    assert time.monotonic() - started < 2
