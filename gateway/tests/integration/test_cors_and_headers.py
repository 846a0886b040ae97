"""CORS, security headers, body rules and forwarding headers, through the whole gateway app."""

import hashlib
import re

import pytest
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from tessera_gateway.app import create_app
from tessera_shared.http import docs

APP_ORIGIN = "https://app.example.com"
EVIL_ORIGIN = "https://evil.example"
GUIDE_HEADERS = [
    "Content-Type",
    "Authorization",
    "X-API-Key",
    "X-Device-ID",
    "Accept-Language",
    "X-App-ID",
    "X-MFA-Challenge",
    "x-otp",
    "X-Request-ID",
]
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, x-api-key, x-device-id",
}
HSTS = "max-age=63072000; includeSubDomains"


@pytest.fixture
def settings(gateway_settings):
    return gateway_settings(
        upstream_timeout_s=2.0,
        cors_origins=f"{APP_ORIGIN}, http://localhost:3000",
        cors_max_age_s=900,
        trusted_proxies="10.0.0.0/8",
        max_body_bytes=2048,
    )


def with_peer(app: ASGIApp, host: str) -> ASGIApp:
    """The app as if the TCP peer were `host` (the test client's peer is no IP address)."""

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "client": (host, 40000)}, receive, send)  # type: ignore[arg-type]

    return handler


@pytest.fixture
async def client(settings):
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


async def client_from(settings, peer: str) -> AsyncTestClient:
    app = create_app(settings)
    app.asgi_handler = with_peer(app.asgi_handler, peer)
    return AsyncTestClient(app)


def access_control(headers) -> list[str]:
    return [name for name in headers if name.lower().startswith("access-control-")]


async def test_a_preflight_from_an_allowed_origin_lists_headers_credentials_and_max_age(
    client, identity_upstream
):
    answer = await client.options(
        "/v1/users/initiate-registration", headers={"origin": APP_ORIGIN, **PREFLIGHT}
    )
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert answer.headers["access-control-max-age"] == "900"
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {h.lower() for h in GUIDE_HEADERS} <= allowed
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "Origin" in answer.headers["vary"]
    # No API key was sent and none was needed; the preflight never reached the service.
    assert identity_upstream.seen == []


async def test_a_preflight_from_a_denied_origin_gets_no_access_control_header_and_no_error(
    client, identity_upstream, session_upstream
):
    for path in ("/v1/users/initiate-registration", "/v1/authenticate", "/nowhere"):
        answer = await client.options(path, headers={"origin": EVIL_ORIGIN, **PREFLIGHT})
        assert answer.status_code == 204
        assert access_control(answer.headers) == []
    assert identity_upstream.seen == session_upstream.seen == []


async def test_a_real_request_from_an_allowed_origin_may_read_the_answer_and_its_headers(client):
    answer = await client.post(
        "/v1/authenticate",
        content=b"{}",
        headers={"origin": "http://localhost:3000", "content-type": "application/json"},
    )
    assert answer.status_code == 201
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert answer.headers["access-control-allow-credentials"] == "true"
    exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert exposed >= {
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "X-Request-ID",
    }


@pytest.mark.parametrize("origin", [EVIL_ORIGIN, "null", f"{APP_ORIGIN}.evil.example"])
async def test_a_real_request_from_a_denied_origin_gets_no_access_control_header(client, origin):
    answer = await client.post(
        "/v1/authenticate",
        content=b"{}",
        headers={"origin": origin, "content-type": "application/json"},
    )
    assert answer.status_code == 201  # answered; the browser withholds it from the page
    assert access_control(answer.headers) == []


async def test_error_answers_carry_cors_headers_for_an_allowed_origin(client):
    answer = await client.post(
        "/v1/users/initiate-registration",
        content=b"{}",
        headers={"origin": APP_ORIGIN, "content-type": "application/json"},
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "api_key_missing"
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/authenticate"),
        ("GET", "/health/live"),
        ("GET", "/nowhere"),
        ("GET", "/.well-known/jwks.json"),
        ("OPTIONS", "/v1/authenticate"),
    ],
)
async def test_every_answer_carries_the_security_headers(client, method, path):
    answer = await client.request(method, path, headers={"origin": APP_ORIGIN, **PREFLIGHT})
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "strict-transport-security" not in answer.headers  # plain HTTP, no trusted proxy


async def test_the_docs_page_and_its_bundle_come_from_the_gateway_under_its_own_policy(
    client, identity_upstream, session_upstream
):
    answer = await client.get("/docs")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert policy == f"{docs.POLICY}; frame-ancestors 'none'"
    assert "script-src 'self';" in policy
    assert "http" not in policy  # no other origin
    assert answer.headers["x-frame-options"] == "DENY"
    bundle = f"/docs/assets/redoc-{docs.REDOC_VERSION}/redoc.standalone.js"
    assert f'<script src="{bundle}"></script>' in answer.text
    assert not re.findall(r"https?://", answer.text)

    script = await client.get(bundle)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "immutable" in script.headers["cache-control"]
    assert hashlib.sha256(script.content).hexdigest() == docs.REDOC_SHA256
    # Answered by the gateway itself: nothing under /docs reaches a service.
    assert identity_upstream.seen == session_upstream.seen == []


async def test_auth_routes_are_never_stored_and_the_jwks_keeps_its_cache_header(client):
    answer = await client.post(
        "/v1/authenticate", content=b"{}", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 201
    assert answer.headers.get_list("cache-control") == ["no-store"]
    jwks = await client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert jwks.headers["cache-control"] == "public, max-age=300"


async def test_hsts_is_sent_when_a_trusted_proxy_says_the_client_used_https(settings):
    async with await client_from(settings, "10.1.2.3") as behind_ingress:
        answer = await behind_ingress.get("/health/live", headers={"x-forwarded-proto": "https"})
        assert answer.headers["strict-transport-security"] == HSTS
        answer = await behind_ingress.get("/health/live", headers={"x-forwarded-proto": "http"})
        assert "strict-transport-security" not in answer.headers
    async with await client_from(settings, "203.0.113.9") as stranger:
        answer = await stranger.get("/health/live", headers={"x-forwarded-proto": "https"})
        assert "strict-transport-security" not in answer.headers


async def test_services_get_the_client_ip_behind_a_trusted_proxy_and_the_scheme(
    settings, session_upstream
):
    async with await client_from(settings, "10.1.2.3") as behind_ingress:
        await behind_ingress.post(
            "/v1/authenticate",
            content=b"{}",
            headers={
                "content-type": "application/json",
                "x-forwarded-for": "6.6.6.6, 198.51.100.4, 10.9.9.9",
                "x-forwarded-proto": "https",
            },
        )
    [seen] = session_upstream.seen
    assert seen.headers.getall("x-forwarded-for") == ["198.51.100.4"]
    assert seen.headers["x-forwarded-proto"] == "https"


async def test_a_forwarded_for_header_from_an_untrusted_client_is_replaced_by_its_address(
    settings, session_upstream
):
    async with await client_from(settings, "203.0.113.9") as stranger:
        await stranger.post(
            "/v1/authenticate",
            content=b"{}",
            headers={
                "content-type": "application/json",
                "x-forwarded-for": "198.51.100.4",
                "x-forwarded-proto": "https",
            },
        )
    [seen] = session_upstream.seen
    assert seen.headers.getall("x-forwarded-for") == ["203.0.113.9"]
    assert seen.headers["x-forwarded-proto"] == "http"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_json_is_a_localized_415_and_not_forwarded(
    client, session_upstream, content_type
):
    headers = {"accept-language": "de"} | ({"content-type": content_type} if content_type else {})
    answer = await client.post("/v1/authenticate", content=b'{"a": 1}', headers=headers)
    assert answer.status_code == 415
    assert answer.json()["code"] == "unsupported_media_type"
    assert answer.json()["message"] == "Der Anfrageinhalt muss JSON sein."
    assert session_upstream.seen == []


async def test_json_with_a_charset_and_requests_without_a_body_are_forwarded(
    client, session_upstream
):
    answer = await client.post(
        "/v1/authenticate",
        content=b"{}",
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert answer.status_code == 201
    answer = await client.post("/v1/refresh-token", headers={"content-type": "text/plain"})
    assert answer.status_code == 201
    assert len(session_upstream.seen) == 2


@pytest.mark.parametrize("how", ["honest content-length", "lying content-length"])
async def test_a_body_over_the_limit_is_a_413_and_not_forwarded(client, session_upstream, how):
    big = b'{"a": "' + b"x" * 4096 + b'"}'
    headers = {"content-type": "application/json"}
    if how == "lying content-length":
        headers["content-length"] = "10"
    answer = await client.post("/v1/authenticate", content=big, headers=headers)
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
    assert session_upstream.seen == []


async def test_a_chunked_body_over_the_limit_is_a_413_once_the_limit_is_passed(
    client, session_upstream
):
    # What a server hands the app for `Transfer-Encoding: chunked`: no length, many parts.
    # (The test client cannot stream; a real server does so in test_tls.py.)
    parts = [b'{"a": "', *[b"x" * 512] * 8, b'"}']
    sent: list[dict] = []

    async def receive():
        if not parts:
            return {"type": "http.disconnect"}
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/authenticate",
        "raw_path": b"/v1/authenticate",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 80),
    }
    await client.app(scope, receive, send)
    assert sent[0]["status"] == 413
    # Past the limit the rest is read and dropped, never kept, before the answer (so a
    # client still sending reads the 413 instead of a reset): see `body_guard`.
    assert parts == []
    assert ("connection", "close") not in [(k.decode(), v.decode()) for k, v in sent[0]["headers"]]
    assert session_upstream.seen == []
