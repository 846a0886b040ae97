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


async def test_nats_going_away_is_reported_but_identity_stays_ready(
    postgres_url, own_nats, test_id
):
    """The outbox holds events while NATS is away: identity keeps serving (and so does the
    gateway, whose readiness includes identity's)."""
    app = create_app(settings_for(postgres_url, own_nats.url(), test_id))
    async with AsyncTestClient(app) as client:
        await eventually(lambda: ready_status(client), lambda s: s == 200)
        own_nats.stop()
        down = await eventually(
            lambda: client.get("/health/ready"),
            lambda r: r.json()["checks"]["nats"]["status"] == "down",
        )
        assert down.status_code == 200
        assert down.json()["checks"]["nats"]["required"] is False
        own_nats.start()
        await eventually(
            lambda: client.get("/health/ready"),
            lambda r: r.json()["checks"]["nats"]["status"] == "up",
        )


async def test_a_request_while_postgres_is_down_is_a_503_not_a_500(own_postgres, nats_url, test_id):
    app = create_app(settings_for(own_postgres.url(), nats_url, test_id))
    async with AsyncTestClient(app) as client:
        own_postgres.stop()
        answer = await client.post(
            "/v1/users/resend-code",
            json={"user_id": "3020dfc6-a073-4146-a594-3f11c5d6e4bc", "credential_type": "email"},
        )
        assert answer.status_code == 503
        assert answer.json()["code"] == "service_unavailable"
        assert answer.headers["retry-after"]
