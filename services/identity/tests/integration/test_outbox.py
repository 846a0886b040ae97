"""Events wait in the outbox while NATS is down and go out, once each, when it returns."""

from litestar.testing import AsyncTestClient

from tessera_identity.app import create_app
from tessera_identity.migrate import migrate
from tessera_shared.testing.events import stream_events, wait_for_event
from tessera_shared.testing.waiting import eventually

from .conftest import Env, settings_for
from .test_registration import body


async def test_a_registration_during_a_nats_outage_is_delivered_when_nats_returns(
    postgres_url, own_nats, test_id
):
    migrate(postgres_url)
    settings = settings_for(postgres_url, own_nats.url(), test_id)
    async with AsyncTestClient(create_app(settings)) as client:
        env = Env(
            client=client, settings=settings, database_url=postgres_url, nats_url=own_nats.url()
        )
        await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 200)
        own_nats.stop()

        answer = await client.post(
            "/v1/users/initiate-registration", json=body("outage@example.com")
        )
        assert answer.status_code == 200  # the request does not depend on NATS
        assert env.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1

        own_nats.start()
        event = await wait_for_event(
            own_nats.url(), settings.stream_name, lambda e: e.recipient == "outage@example.com"
        )
        assert event.user_id == answer.json()["user_id"]
        await eventually(
            _async(lambda: env.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")),
            lambda pending: pending == 0,
        )
        events = await stream_events(own_nats.url(), settings.stream_name)
        assert [e.id for e in events].count(event.id) == 1


async def test_events_are_published_promptly_and_in_order(identity):
    for n in range(3):
        await identity.client.post(
            "/v1/users/initiate-registration", json=body(f"order{n}@example.com")
        )
    last = await identity.event("order2@example.com", "registration_code")
    events = await stream_events(identity.nats_url, identity.settings.stream_name)
    assert [e.recipient for e in events] == [f"order{n}@example.com" for n in range(3)]
    assert events[-1] == last
    assert identity.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


def _async(func):  # type: ignore[no-untyped-def]
    async def call():  # type: ignore[no-untyped-def]
        return func()

    return call
