from litestar.testing import AsyncTestClient

from tessera_gateway.app import create_app
from tessera_gateway.config import GatewaySettings
from tessera_shared.testing.waiting import eventually


async def test_readiness_follows_redis_going_away_and_coming_back(
    own_redis, identity_upstream, session_upstream
):
    settings = GatewaySettings(
        redis_url=own_redis.url(),
        identity_url=identity_upstream.url,
        session_url=session_upstream.url,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        answer = await client.get("/health/ready")
        assert answer.status_code == 200
        checks = answer.json()["checks"]
        assert {name: c["status"] for name, c in checks.items()} == {
            "redis": "up",
            "identity": "up",
            "session": "up",
        }
        assert checks["identity"]["details"]["db"]["status"] == "up"

        own_redis.stop()
        down = await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 503)
        assert down.json()["checks"]["redis"]["status"] == "down"

        own_redis.start()
        await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 200)


async def test_a_service_that_is_not_ready_makes_the_gateway_not_ready(
    redis_url, identity_upstream, session_upstream
):
    settings = GatewaySettings(
        redis_url=redis_url, identity_url=identity_upstream.url, session_url=session_upstream.url
    )
    async with AsyncTestClient(create_app(settings)) as client:
        session_upstream.ready = False
        answer = await client.get("/health/ready")
        assert answer.status_code == 503
        assert answer.json()["checks"]["session"]["status"] == "down"
        assert answer.json()["checks"]["identity"]["status"] == "up"
        session_upstream.ready = True
        assert (await client.get("/health/ready")).status_code == 200
