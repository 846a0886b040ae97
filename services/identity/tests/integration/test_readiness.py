from litestar.testing import AsyncTestClient

from tessera_identity.app import create_app
from tessera_identity.config import IdentitySettings
from tessera_shared.testing.waiting import eventually


async def ready_status(client: AsyncTestClient) -> int:
    return (await client.get("/health/ready")).status_code


async def test_readiness_follows_postgres_going_away_and_coming_back(own_postgres):
    app = create_app(IdentitySettings(database_url=own_postgres.url()))
    async with AsyncTestClient(app) as client:
        answer = await client.get("/health/ready")
        assert answer.status_code == 200
        assert answer.json()["checks"]["postgres"]["status"] == "up"

        own_postgres.stop()
        down = await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 503)
        assert down.json()["checks"]["postgres"]["status"] == "down"
        assert (await client.get("/health/live")).status_code == 200

        own_postgres.start()
        await eventually(lambda: ready_status(client), lambda s: s == 200)


async def test_identity_starts_while_postgres_is_down_and_turns_ready_when_it_appears(own_postgres):
    own_postgres.stop()
    app = create_app(IdentitySettings(database_url=own_postgres.url()))
    async with AsyncTestClient(app) as client:
        assert await ready_status(client) == 503
        own_postgres.start()
        await eventually(lambda: ready_status(client), lambda s: s == 200)
