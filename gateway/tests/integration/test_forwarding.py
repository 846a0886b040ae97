import pytest
from litestar.testing import AsyncTestClient

from tessera_gateway.app import create_app
from tessera_gateway.bootstrap import create_api_key
from tessera_gateway.config import GatewaySettings
from tessera_shared.devservers import free_port


@pytest.fixture
def settings(gateway_settings):
    return gateway_settings()


@pytest.fixture
async def client(settings):
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


async def test_a_public_request_reaches_its_service_with_body_and_headers(
    client, settings, identity_upstream, session_upstream
):
    api_key = await create_api_key(settings, "test")
    answer = await client.post(
        "/v1/users/initiate-registration?x=1",
        content=b'{"a": 1}',
        headers={
            "content-type": "application/json",
            "accept-language": "de",
            "x-api-key": api_key,
            "x-device-id": "d1",
            "x-request-id": "req-1",
            "x-not-forwarded": "nope",
        },
    )
    assert answer.status_code == 201
    assert answer.json() == {"path": "/v1/users/initiate-registration"}
    [seen] = identity_upstream.seen
    assert session_upstream.seen == []
    assert identity_upstream.bodies == [b'{"a": 1}']
    assert seen.query_string == "x=1"
    assert seen.headers["accept-language"] == "de"
    assert seen.headers["x-api-key"] == api_key
    assert seen.headers["x-device-id"] == "d1"
    assert seen.headers["x-request-id"] == "req-1"
    assert seen.headers["x-forwarded-for"]
    assert "x-not-forwarded" not in seen.headers


async def test_every_set_cookie_is_relayed_and_internal_headers_are_not(client):
    answer = await client.post(
        "/v1/authenticate", content=b"{}", headers={"content-type": "application/json"}
    )
    assert answer.headers.get_list("set-cookie") == ["a=1; HttpOnly", "b=2; HttpOnly"]
    assert "x-internal-secret" not in answer.headers


@pytest.mark.parametrize("path", ["/internal/users/verify-password", "/internal/", "/admin"])
async def test_internal_and_unknown_paths_are_never_forwarded(
    client, identity_upstream, session_upstream, path
):
    answer = await client.post(path, content=b"{}")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
    assert identity_upstream.seen == []
    assert session_upstream.seen == []


async def test_a_slow_service_is_a_localized_504(client, session_upstream):
    session_upstream.delay = 2.0
    answer = await client.post("/v1/authenticate", headers={"accept-language": "it"})
    assert answer.status_code == 504
    assert answer.json()["code"] == "gateway_timeout"
    assert answer.json()["message"] == "Un servizio interno non ha risposto in tempo."


async def test_a_service_that_is_down_is_a_localized_503(redis_url, test_id, identity_upstream):
    settings = GatewaySettings(
        redis_url=redis_url,
        identity_url=identity_upstream.url,
        session_url=f"http://127.0.0.1:{free_port()}",
        rate_limit_prefix=f"t{test_id}:rl:",
    )
    async with AsyncTestClient(create_app(settings)) as client:
        answer = await client.post("/v1/authenticate", headers={"accept-language": "fr"})
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"
    assert answer.json()["message"].startswith("Le service est temporairement indisponible")
