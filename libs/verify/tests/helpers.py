"""Tokens signed here (by hand: no JWT library), and one real HTTP server on its own thread that
serves a JWKS and an RFC 7662 introspection endpoint as the Tessera gateway does."""

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER = "tessera"
AUDIENCE = "tessera"
API_KEY = "tk_test_key"
CLIENT_ID = "svc+orders"
CLIENT_SECRET = "s3cr3t/with:odd=chars"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    """A fresh access token's claims (15 minutes), as the session service writes them."""
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 900,
        "jti": str(uuid.uuid4()),
        "amr": ["pwd"],
        "did": "device-1",
        "aid": "app-1",
        **changes,
    }


def sign(
    key: Ed25519PrivateKey,
    kid: str = "k1",
    body: dict[str, Any] | None = None,
    *,
    header: dict[str, Any] | None = None,
) -> str:
    """A compact JWS of `body` (fresh claims by default) signed with `key`."""
    head = header if header is not None else {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body or claims()).encode())}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def public_jwk(kid: str, key: Ed25519PrivateKey) -> dict[str, str]:
    x = b64(key.public_key().public_bytes_raw())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


class AuthServer:
    """`GET /jwks` (the keys of `keys`) and `POST /introspect` (active unless the token's `sid`
    is in `ended`), on 127.0.0.1 and a free port; counts requests."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {"k1": Ed25519PrivateKey.generate()}
        self.cache_control: str | None = "public, max-age=300"
        self.jwks_status = 200
        self.jwks_body: bytes | None = None
        self.jwks_delay_s = 0.0
        self.jwks_requests = 0
        self.ended: set[str] = set()
        """Session ids whose tokens are inactive."""
        self.introspect_status = 200
        self.introspections: list[dict[str, Any]] = []
        """Each introspection call: its form and headers."""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/introspect"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._jwks(self)

            def do_POST(self) -> None:
                owner._introspect(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Closes the port: connections are refused (start() opens it again)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _jwks(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.jwks_requests += 1
        if self.jwks_delay_s:
            time.sleep(self.jwks_delay_s)
        keys = dict(self.keys)
        body = self.jwks_body
        if body is None:
            body = json.dumps(
                {"keys": [public_jwk(kid, key) for kid, key in keys.items()]}
            ).encode()
        headers = {"content-type": "application/json"}
        if self.cache_control is not None:
            headers["cache-control"] = self.cache_control
        _answer(request, self.jwks_status, body, headers)

    def _introspect(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length", "0"))
        raw = request.rfile.read(length).decode()
        form = {name: values[0] for name, values in parse_qs(raw).items()}
        with self._lock:
            headers = {name.lower(): value for name, value in request.headers.items()}
            self.introspections.append({"form": form, "headers": headers})
        basic = "Basic " + base64.b64encode(b"svc%2Borders:s3cr3t%2Fwith%3Aodd%3Dchars").decode()
        authorized = (
            request.headers.get("x-api-key") == API_KEY
            or request.headers.get("authorization") == basic
        )
        if self.introspect_status != 200:
            _answer(request, self.introspect_status, b'{"code": "unavailable"}')
            return
        if not authorized:
            _answer(request, 401, b'{"code": "api_key_invalid"}')
            return
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            _answer(request, 415, b"{}")
            return
        payload = json.loads(base64.urlsafe_b64decode(form["token"].split(".")[1] + "=="))
        if payload["sid"] in self.ended:
            answer: dict[str, Any] = {"active": False}
        else:
            answer = {
                "active": True,
                "token_type": "access_token",
                **{k: payload[k] for k in ("sub", "sid", "exp", "iat", "amr")},
                "client_id": payload.get("client_id", "app-1"),
            }
        _answer(request, 200, json.dumps(answer).encode())


def _answer(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    request.send_response(status)
    for name, value in (headers or {"content-type": "application/json"}).items():
        request.send_header(name, value)
    request.send_header("content-length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
