"""The gateway as a real process serving HTTPS with its own certificate."""

import datetime
import http.client
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tessera_shared.devservers import free_port

HSTS = "max-age=63072000; includeSubDomains"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tessera-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Gateway:
    def __init__(self, port: int, trusting: ssl.SSLContext) -> None:
        self.port = port
        self.context = trusting

    def connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=5)


def wait_until_serving(process: subprocess.Popen[bytes], gateway: Gateway, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the gateway exited ({process.returncode}):\n{log.read_text()}")
        connection = gateway.connection()
        try:
            connection.request("GET", "/health/live")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
        finally:
            connection.close()
    pytest.fail(f"the gateway did not serve HTTPS within 60 s:\n{log.read_text()}")


@pytest.fixture
def tls_gateway(tmp_path, redis_url, test_id) -> Iterator[Gateway]:
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TESSERA_GATEWAY_")},
        "TESSERA_GATEWAY_PORT": str(port),
        "TESSERA_GATEWAY_REDIS_URL": redis_url,
        "TESSERA_GATEWAY_RATE_LIMIT_PREFIX": f"t{test_id}:rl:",
        "TESSERA_GATEWAY_MAX_BODY_BYTES": "2048",
        "TESSERA_GATEWAY_TLS_CERT_FILE": str(cert),
        "TESSERA_GATEWAY_TLS_KEY_FILE": str(key),
    }
    log = tmp_path / "gateway.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tessera_gateway"], env=env, stdout=output, stderr=output
        )
    gateway = Gateway(port, ssl.create_default_context(cafile=str(cert)))
    try:
        wait_until_serving(process, gateway, log)
        yield gateway
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_the_gateway_serves_https_with_its_certificate_and_sends_hsts(tls_gateway):
    connection = tls_gateway.connection()
    try:
        connection.request("GET", "/health/live")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200
        assert answer.getheader("strict-transport-security") == HSTS
        assert answer.getheader("x-content-type-options") == "nosniff"
        assert connection.sock is not None
        assert connection.sock.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        connection.close()


def plain_http_get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_plain_http_on_the_https_port_gets_no_answer(tls_gateway):
    with pytest.raises((OSError, http.client.HTTPException)):
        plain_http_get(tls_gateway.port, "/health/live")


def test_a_chunked_body_over_the_limit_is_refused_over_the_wire(tls_gateway):
    def parts() -> Iterator[bytes]:
        yield b'{"a": "'
        for _ in range(16):
            yield b"x" * 512
        yield b'"}'

    connection = tls_gateway.connection()
    try:
        connection.request(
            "POST",
            "/v1/authenticate",
            body=parts(),
            headers={"content-type": "application/json"},
            encode_chunked=True,
        )
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    assert answer.status == 413, body
    assert b"payload_too_large" in body
