from litestar.testing import AsyncTestClient

from tessera_identity.app import create_app
from tessera_shared.testing.waiting import eventually

from .conftest import settings_for


async def ready_status(client: AsyncTestClient) -> int:
    return (await client.get("/health/ready")).status_code


async def test_readiness_follows_postgres_going_away_and_coming_back(
    own_postgres, nats_url, test_id
):
    app = create_app(settings_for(own_postgres.url(), nats_url, test_id))
    async with AsyncTestClient(app) as client:
        answer = await eventually(
            lambda: client.get("/health/ready"), lambda r: r.status_code == 200
        )
        assert answer.json()["checks"]["postgres"]["status"] == "up"

        own_postgres.stop()
        down = await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 503)
        assert down.json()["checks"]["postgres"]["status"] == "down"
        assert (await client.get("/health/live")).status_code == 200

        own_postgres.start()
        await eventually(lambda: ready_status(client), lambda s: s == 200)


async def test_identity_starts_while_postgres_is_down_and_turns_ready_when_it_appears(
    own_postgres, nats_url, test_id
):
    own_postgres.stop()
    app = create_app(settings_for(own_postgres.url(), nats_url, test_id))
    async with AsyncTestClient(app) as client:
        assert await ready_status(client) == 503
        own_postgres.start()
        await eventually(lambda: ready_status(client), lambda s: s == 200)


async def test_readiness_follows_nats_going_away_and_coming_back(postgres_url, own_nats, test_id):
    app = create_app(settings_for(postgres_url, own_nats.url(), test_id))
    async with AsyncTestClient(app) as client:
        await eventually(lambda: ready_status(client), lambda s: s == 200)
        own_nats.stop()
        down = await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 503)
        assert down.json()["checks"]["nats"]["status"] == "down"
        own_nats.start()
        await eventually(lambda: ready_status(client), lambda s: s == 200)
