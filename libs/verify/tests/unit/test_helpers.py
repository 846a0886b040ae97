"""The drop-in helpers: the ASGI dependency in a bare ASGI app, the WSGI decorator in a bare
WSGI call and as a view decorator, and the README's Litestar snippet in a real Litestar app."""

import io
import json
import wsgiref.util
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_verify import AsyncVerifier, Claims, RefusalError, Verifier
from tessera_verify.asgi import authorization, require_token, send_refusal
from tessera_verify.wsgi import Headers, claims_of
from tessera_verify.wsgi import require_token as require_token_wsgi

from ..helpers import AUDIENCE, ISSUER, claims, sign

pytestmark = pytest.mark.unit

KEY = Ed25519PrivateKey.generate()
KEYS = {"k1": KEY.public_key()}
DOWN = "http://127.0.0.1:9/jwks"  # discard port: nothing listens, the key set is unavailable
INVALID = 'Bearer error="invalid_token"'


def async_verifier(**options: Any) -> AsyncVerifier:
    if "jwks_url" not in options:
        options["keys"] = KEYS
    return AsyncVerifier(issuer=ISSUER, audience=AUDIENCE, **options)


def sync_verifier(**options: Any) -> Verifier:
    if "jwks_url" not in options:
        options["keys"] = KEYS
    return Verifier(issuer=ISSUER, audience=AUDIENCE, **options)


# --- ASGI -------------------------------------------------------------------------------------


def asgi_app(verifier: AsyncVerifier) -> Any:
    check = require_token(verifier)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            claims = await check(authorization(scope))
        except RefusalError as refusal:
            await send_refusal(send, refusal)
            return
        body = json.dumps({"sub": claims.sub}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


async def call_asgi(app: Any, authorization: str | None) -> tuple[int, dict[str, str], Any]:
    headers = [(b"host", b"service")]
    if authorization is not None:
        headers.append((b"Authorization", authorization.encode()))
    scope = {"type": "http", "method": "GET", "path": "/me", "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, body = sent
    answer_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], answer_headers, json.loads(body["body"])


async def test_asgi_a_valid_token_reaches_the_app():
    body = claims()
    status, _, answer = await call_asgi(
        asgi_app(async_verifier()), f"Bearer {sign(KEY, body=body)}"
    )
    assert (status, answer) == (200, {"sub": body["sub"]})


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {sign(KEY, body=claims(aud='elsewhere'))}",
        f"Bearer {sign(Ed25519PrivateKey.generate())}",
        "Bearer not-a-token",
    ],
)
async def test_asgi_a_refused_token_is_a_401_token_invalid(authorization):
    status, headers, answer = await call_asgi(asgi_app(async_verifier()), authorization)
    assert (status, answer) == (401, {"code": "token_invalid"})
    assert headers["www-authenticate"] == INVALID
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize("authorization", [None, "", "Basic dXNlcjpwYXNz", "Bearer "])
async def test_asgi_no_bearer_token_is_a_401_with_a_bare_challenge(authorization):
    status, headers, answer = await call_asgi(asgi_app(async_verifier()), authorization)
    assert (status, answer, headers["www-authenticate"]) == (
        401,
        {"code": "unauthorized"},
        "Bearer",
    )


async def test_asgi_an_unreachable_key_set_is_a_503():
    status, headers, answer = await call_asgi(
        asgi_app(async_verifier(jwks_url=DOWN, timeout_s=0.5)), f"Bearer {sign(KEY)}"
    )
    assert (status, answer) == (503, {"code": "service_unavailable"})
    assert "www-authenticate" not in headers


async def test_asgi_error_turns_a_refusal_into_the_frameworks_exception():
    class HTTPError(Exception):
        def __init__(self, status: int, detail: Any, headers: dict[str, str]) -> None:
            self.args = (status, detail, headers)

    check = require_token(async_verifier(), error=lambda r: HTTPError(r.status, r.body, r.headers))
    with pytest.raises(HTTPError) as raised:
        await check("Bearer x.y.z")
    assert raised.value.args == (401, {"code": "token_invalid"}, {"WWW-Authenticate": INVALID})
    assert isinstance(await check(f"Bearer {sign(KEY)}"), Claims)


async def test_asgi_the_refusal_keeps_its_reason_for_logs():
    check = require_token(async_verifier())
    with pytest.raises(RefusalError) as raised:
        await check(f"Bearer {sign(KEY, 'k2')}")
    assert raised.value.error is not None
    assert raised.value.error.reason == "unknown_key"


# --- WSGI -------------------------------------------------------------------------------------


def environ(authorization: str | None) -> dict[str, Any]:
    env: dict[str, Any] = {"wsgi.input": io.BytesIO()}
    wsgiref.util.setup_testing_defaults(env)
    if authorization is not None:
        env["HTTP_AUTHORIZATION"] = authorization
    return env


def inner_app(env: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"sub": claims_of(env).sub}).encode()]


def call_wsgi(app: Any, authorization: str | None) -> tuple[str, dict[str, str], Any]:
    started: list[Any] = []
    body = b"".join(app(environ(authorization), lambda s, h: started.append((s, h))))
    status, headers = started[0]
    return status, dict(headers), json.loads(body)


def test_wsgi_a_valid_token_reaches_the_app_with_its_claims():
    body = claims()
    app = require_token_wsgi(sync_verifier())(inner_app)
    assert call_wsgi(app, f"Bearer {sign(KEY, body=body)}") == (
        "200 OK",
        {"Content-Type": "application/json"},
        {"sub": body["sub"]},
    )


def test_wsgi_a_refused_token_is_a_401_token_invalid():
    app = require_token_wsgi(sync_verifier())(inner_app)
    status, headers, answer = call_wsgi(app, f"Bearer {sign(KEY, body=claims(iss='x'))}")
    assert (status, answer) == ("401 Unauthorized", {"code": "token_invalid"})
    assert headers["WWW-Authenticate"] == INVALID
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(b'{"code": "token_invalid"}'))


def test_wsgi_no_token_is_a_401_with_a_bare_challenge():
    app = require_token_wsgi(sync_verifier())(inner_app)
    status, headers, answer = call_wsgi(app, None)
    assert (status, answer, headers["WWW-Authenticate"]) == (
        "401 Unauthorized",
        {"code": "unauthorized"},
        "Bearer",
    )


def test_wsgi_an_unreachable_key_set_is_a_503():
    app = require_token_wsgi(sync_verifier(jwks_url=DOWN, timeout_s=0.5))(inner_app)
    status, _, answer = call_wsgi(app, f"Bearer {sign(KEY)}")
    assert (status, answer) == ("503 Service Unavailable", {"code": "service_unavailable"})


def test_wsgi_through_a_real_wsgiref_server():
    import threading
    import urllib.error
    import urllib.request
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    app = require_token_wsgi(sync_verifier())(inner_app)
    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/me"
    try:
        body = claims()
        ok = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {sign(KEY, body=body)}"}
        )
        with urllib.request.urlopen(ok, timeout=5) as answer:  # noqa: S310 (http, built above)
            assert json.loads(answer.read()) == {"sub": body["sub"]}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        assert refused.value.headers["WWW-Authenticate"] == "Bearer"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class FakeFlaskRequest:
    """What Flask's `request` proxy gives the decorator: the current request's environ."""

    def __init__(self) -> None:
        self.environ: dict[str, Any] = {}


def test_wsgi_as_a_view_decorator_reads_the_request_through_environ():
    request = FakeFlaskRequest()
    signed_in = require_token_wsgi(sync_verifier(), environ=lambda: request.environ)

    @signed_in
    def me(user_id: str) -> dict[str, str]:
        """The view."""
        return {"sub": claims_of(request.environ).sub, "path": user_id}

    body = claims()
    request.environ = environ(f"Bearer {sign(KEY, body=body)}")
    assert me("u1") == {"sub": body["sub"], "path": "u1"}
    assert me.__doc__ == "The view."
    request.environ = environ("Bearer x.y.z")
    answer, status, headers = me("u1")  # type: ignore[misc]
    assert (json.loads(answer), status) == ({"code": "token_invalid"}, 401)
    assert headers["WWW-Authenticate"] == INVALID
    assert headers["Content-Type"] == "application/json"


def test_wsgi_headers_adapter_reads_any_case():
    headers = Headers({"HTTP_AUTHORIZATION": "Bearer t", "CONTENT_TYPE": "text/plain"})
    assert headers.get("Authorization") == headers.get("authorization") == "Bearer t"
    assert headers.get("content-type") == "text/plain"
    assert headers.get("x-missing", "default") == "default"


# --- The README's Litestar snippet, in a real Litestar app (the suite's parts use Litestar) ----


def test_the_litestar_snippet_works():
    litestar = pytest.importorskip("litestar")
    from litestar.datastructures import Headers as LitestarHeaders
    from litestar.di import NamedDependency, Provide
    from litestar.exceptions import HTTPException
    from litestar.testing import TestClient

    check = require_token(
        async_verifier(),
        error=lambda r: HTTPException(
            status_code=r.status, detail=r.body["code"], headers=r.headers
        ),
    )

    async def token_claims(headers: LitestarHeaders) -> Claims:
        return await check(headers.get("authorization"))

    @litestar.get("/me", dependencies={"claims": Provide(token_claims)})
    async def me(claims: NamedDependency[Claims]) -> dict[str, str]:
        return {"sub": claims.sub}

    body = claims()
    with TestClient(litestar.Litestar([me])) as client:
        ok = client.get("/me", headers={"Authorization": f"Bearer {sign(KEY, body=body)}"})
        assert (ok.status_code, ok.json()) == (200, {"sub": body["sub"]})
        refused = client.get("/me", headers={"Authorization": "Bearer x.y.z"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == INVALID
