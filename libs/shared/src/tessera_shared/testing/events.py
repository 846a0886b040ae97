"""Reads the delivery requests identity published, straight from the JetStream stream."""

import asyncio
import time
from collections.abc import Callable

import nats
from nats.js.api import DeliverPolicy

from tessera_shared.contracts.events import EVENT_DECODER, DeliveryRequested
from tessera_shared.nats import parse_servers


async def stream_events(nats_url: str, stream: str) -> list[DeliveryRequested]:
    """Every event in the stream right now, oldest first."""
    client = await nats.connect(servers=parse_servers(nats_url), connect_timeout=2)
    try:
        js = client.jetstream()
        try:
            info = await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            return []
        count = info.state.messages
        if count == 0:
            return []
        subscription = await js.pull_subscribe(
            "", stream=stream, config=nats.js.api.ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        )
        events: list[DeliveryRequested] = []
        while len(events) < count:
            batch = await subscription.fetch(count - len(events), timeout=2)
            events.extend(EVENT_DECODER.decode(message.data) for message in batch)
        await subscription.unsubscribe()
        return events
    finally:
        await client.close()


async def wait_for_event(
    nats_url: str,
    stream: str,
    match: Callable[[DeliveryRequested], bool],
    within: float = 15.0,
) -> DeliveryRequested:
    """The newest event satisfying `match`, waiting for it to be published."""
    deadline = time.monotonic() + within
    while True:
        found = [event for event in await stream_events(nats_url, stream) if match(event)]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching event in stream {stream} within {within}s")
        await asyncio.sleep(0.1)


async def publish_event(
    nats_url: str, subject: str, payload: bytes, headers: dict[str, str] | None = None
) -> None:
    """Publish one message to JetStream (the stream must exist), as identity's relay would."""
    client = await nats.connect(servers=parse_servers(nats_url), connect_timeout=2)
    try:
        await client.jetstream().publish(subject, payload, headers=headers, timeout=5)
    finally:
        await client.close()
