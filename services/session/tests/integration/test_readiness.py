from litestar.testing import AsyncTestClient

from tessera_session.app import create_app
from tessera_session.config import SessionSettings
from tessera_shared.testing.waiting import eventually


async def test_readiness_follows_redis_going_away_and_coming_back(own_redis):
    app = create_app(SessionSettings(redis_url=own_redis.url()))
    async with AsyncTestClient(app) as client:
        answer = await client.get("/health/ready")
        assert answer.status_code == 200
        assert answer.json()["checks"]["redis"]["status"] == "up"

        own_redis.stop()
        down = await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 503)
        assert down.json()["checks"]["redis"]["status"] == "down"

        own_redis.start()
        await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 200)
