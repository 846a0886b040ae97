"""A service that dies and comes back: the gateway answers 503 meanwhile and recovers alone."""

from litestar.testing import AsyncTestClient

from tessera_gateway.app import create_app
from tessera_gateway.config import GatewaySettings

from .conftest import Upstream


async def test_a_killed_service_is_a_localized_503_and_its_successor_on_the_port_is_used(
    redis_url, test_id, identity_upstream
):
    session = Upstream()
    session.start()
    settings = GatewaySettings(
        redis_url=redis_url,
        identity_url=identity_upstream.url,
        session_url=session.url,
        upstream_timeout_s=2.0,
        rate_limit_prefix=f"t{test_id}:rl:",
    )
    json = {"content-type": "application/json", "accept-language": "fr"}
    successor: Upstream | None = None
    try:
        async with AsyncTestClient(create_app(settings)) as client:
            # A first call leaves a pooled keep-alive connection to the service behind.
            before = await client.post("/v1/authenticate", content=b"{}", headers=json)
            assert before.status_code == 201

            session.stop()
            during = await client.post("/v1/authenticate", content=b"{}", headers=json)
            assert during.status_code == 503
            assert during.json()["code"] == "service_unavailable"
            assert during.json()["message"].startswith("Le service est temporairement")

            successor = Upstream(port=session.port)
            successor.start()
            after = await client.post("/v1/authenticate", content=b"{}", headers=json)
            assert after.status_code == 201
            assert after.json() == {"path": "/v1/authenticate"}
            assert len(successor.seen) == 1
    finally:
        if successor is not None:
            successor.stop()
