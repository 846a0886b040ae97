"""The gateway's `GET /metrics`: behind a bearer token, absent without one; request metrics by
routing prefix, rate-limited requests and upstream failures, in front of stand-in services."""

import pytest
from litestar.testing import AsyncTestClient

from tessera_gateway.app import create_app
from tessera_shared.devservers import free_port
from tessera_shared.testing.metrics import sample, series

from .test_rate_limits import authenticate, with_peer_header

SERVICE = "tessera-gateway"
TOKEN = "metrics-token-for-the-tests-0123456789"
SCRAPER = {"authorization": f"Bearer {TOKEN}"}


async def scraped(client: AsyncTestClient) -> str:
    answer = await client.get("/metrics", headers=SCRAPER)
    assert answer.status_code == 200, answer.text
    return answer.text


@pytest.fixture
async def client(gateway_settings):
    settings = gateway_settings(metrics_token=TOKEN)
    async with AsyncTestClient(with_peer_header(create_app(settings))) as test_client:
        yield test_client


async def test_without_a_token_configured_metrics_are_not_found_whatever_the_caller_sends(
    gateway_settings, session_upstream
):
    async with AsyncTestClient(create_app(gateway_settings())) as client:
        for headers in ({}, SCRAPER, {"authorization": "Bearer "}):
            answer = await client.get("/metrics", headers=headers)
            assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert session_upstream.seen == []  # never forwarded either


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
async def test_metrics_without_the_right_bearer_token_are_401(client, authorization):
    headers = {"authorization": authorization} if authorization else {}
    answer = await client.get("/metrics", headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "unauthorized")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "tessera_" not in answer.text


async def test_metrics_with_the_right_token_are_the_text_exposition(client):
    answer = await client.get("/metrics", headers=SCRAPER)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE tessera_rate_limited_total counter" in answer.text


async def test_forwarded_requests_are_counted_by_routing_prefix_and_status(
    client, session_upstream
):
    forwarded = {"service": SERVICE, "method": "GET", "route": "/v1/*", "status": "201"}
    unrouted = {"service": SERVICE, "method": "GET", "route": "unmatched", "status": "404"}
    text = await scraped(client)
    before = [sample(text, "tessera_http_requests_total", **s) for s in (forwarded, unrouted)]

    assert (await client.get("/v1/sessions/abc123")).status_code == 401  # needs a token
    assert (await client.get("/v1/anything/abc123")).status_code == 201  # the stand-in's echo
    assert (await client.get("/internal/v1/introspect")).status_code == 404  # never routed

    text = await scraped(client)
    after = [sample(text, "tessera_http_requests_total", **s) for s in (forwarded, unrouted)]
    assert after == [before[0] + 1, before[1] + 1]
    unauthorized = {**forwarded, "status": "401"}
    assert sample(text, "tessera_http_requests_total", **unauthorized) >= 1
    mine = [s for s in series(text, "tessera_http_requests_total") if s["service"] == SERVICE]
    assert not [s for s in mine if "abc123" in s["route"] or "/internal" in s["route"]]


async def test_a_429_of_the_sign_in_limits_is_counted_for_the_auth_group(client):
    before = sample(await scraped(client), "tessera_rate_limited_total", group="auth")
    for _ in range(5):
        assert (await authenticate(client, "203.0.113.7")).status_code == 201

    assert (await authenticate(client, "203.0.113.7")).status_code == 429

    text = await scraped(client)
    assert sample(text, "tessera_rate_limited_total", group="auth") == before + 1
    limited = {"service": SERVICE, "method": "POST", "route": "/v1/*", "status": "429"}
    assert sample(text, "tessera_http_requests_total", **limited) >= 1


async def test_a_service_nobody_answers_for_is_counted_as_an_upstream_error(gateway_settings):
    settings = gateway_settings(metrics_token=TOKEN, session_url=f"http://127.0.0.1:{free_port()}")
    labels = {"upstream": "session", "code": "service_unavailable"}
    async with AsyncTestClient(create_app(settings)) as client:
        before = sample(await scraped(client), "tessera_upstream_errors_total", **labels)

        assert (await client.get("/.well-known/jwks.json")).status_code == 503

        after = sample(await scraped(client), "tessera_upstream_errors_total", **labels)
    assert after == before + 1
