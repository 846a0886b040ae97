import nats
from litestar.testing import AsyncTestClient
from nats.js.api import AckPolicy

from tessera_otp_delivery.app import create_app
from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_shared.testing.waiting import eventually


def settings_for(url: str, test_id: str) -> OtpDeliverySettings:
    return OtpDeliverySettings(
        nats_url=url, stream_name=f"OTP_{test_id}", subject_prefix=f"t{test_id}."
    )


async def ready_status(client: AsyncTestClient) -> int:
    return (await client.get("/health/ready")).status_code


async def test_the_stream_and_durable_consumer_are_declared_idempotently(nats_url, test_id):
    settings = settings_for(nats_url, test_id)
    for _ in range(2):  # a second start (or replica) finds them and changes nothing
        async with AsyncTestClient(create_app(settings)) as client:
            await eventually(lambda: ready_status(client), lambda s: s == 200)
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    stream = await js.stream_info(settings.stream_name)
    consumer = await js.consumer_info(settings.stream_name, settings.consumer_name)
    await connection.close()
    assert stream.config.subjects == [f"t{test_id}.otp.>"]
    assert consumer.config.filter_subject == f"t{test_id}.otp.*.requested"
    assert consumer.config.ack_policy == AckPolicy.EXPLICIT
    assert consumer.config.max_deliver == settings.max_deliver + 2


async def test_readiness_follows_nats_going_away_and_coming_back(own_nats, test_id):
    async with AsyncTestClient(create_app(settings_for(own_nats.url(), test_id))) as client:
        await eventually(lambda: ready_status(client), lambda s: s == 200)
        own_nats.stop()
        down = await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 503)
        assert down.json()["checks"]["nats"]["status"] == "down"
        own_nats.start()
        await eventually(lambda: ready_status(client), lambda s: s == 200)


async def test_the_worker_starts_while_nats_is_down_and_turns_ready_when_it_appears(
    own_nats, test_id
):
    own_nats.stop()
    async with AsyncTestClient(create_app(settings_for(own_nats.url(), test_id))) as client:
        assert await ready_status(client) == 503
        own_nats.start()
        await eventually(lambda: ready_status(client), lambda s: s == 200)
