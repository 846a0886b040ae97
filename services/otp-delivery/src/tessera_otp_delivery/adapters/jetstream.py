"""Declares the stream and this worker's durable pull consumer (idempotently)."""

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tessera_otp_delivery.adapters.sent_ledger import ensure_bucket
from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_shared.contracts.streams import ensure_stream


async def ensure_topology(js: JetStreamContext, settings: OtpDeliverySettings) -> None:
    stream = settings.stream
    await ensure_stream(js, stream)
    await ensure_bucket(js, settings.sent_bucket, settings.sent_ttl_s, stream.replicas)
    await js.add_consumer(
        stream.name,
        ConsumerConfig(
            durable_name=settings.consumer_name,
            filter_subject=stream.requests,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=settings.ack_wait_s,
            # The worker dead-letters at max_deliver itself; the margin keeps JetStream from
            # silently dropping an event whose last attempt crashed before it could.
            max_deliver=settings.max_deliver + 2,
        ),
    )


async def consumer_exists(js: JetStreamContext, settings: OtpDeliverySettings) -> None:
    await js.consumer_info(settings.stream.name, settings.consumer_name, timeout=2)
