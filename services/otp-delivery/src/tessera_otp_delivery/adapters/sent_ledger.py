"""Sent event ids in a JetStream key-value bucket with a TTL (idempotency across redeliveries).

Each event id moves `sending:<unix time>` → `sent`. Claiming is a compare-and-set (`create`, or
`update` at a known revision), so two copies of one event handled at the same moment, by one
worker or two, send one message. A claim older than `stale_after_s` belongs to a worker that
died mid-send and may be taken over (the message may then go out twice: at-least-once, with
the window narrowed to the instant between the provider's acceptance and the `sent` mark).
"""

import time
from dataclasses import replace

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from tessera_otp_delivery.ports import Claim
from tessera_shared.nats import NatsConnection

SENT = b"sent"


async def ensure_bucket(
    js: JetStreamContext, bucket: str, ttl_s: int, replicas: int = 1
) -> KeyValue:
    """Create the bucket, or bring an existing one to `replicas` (its other settings are kept:
    a TTL change needs the bucket recreated). Idempotent."""
    try:
        kv = await js.key_value(bucket)
    except BucketNotFoundError:
        pass
    else:
        info = (await kv.status()).stream_info
        if info.config.num_replicas != replicas:
            # JetStream scales a stream's replicas in place, keeping its data.
            await js.update_stream(replace(info.config, num_replicas=replicas))
        return kv
    return await js.create_key_value(
        KeyValueConfig(
            bucket=bucket,
            ttl=float(ttl_s),
            history=1,
            storage=StorageType.FILE,
            replicas=replicas,
        )
    )


def _sending() -> bytes:
    return f"sending:{time.time():.3f}".encode()


class KvSentLedger:
    def __init__(self, nats: NatsConnection, bucket: str) -> None:
        self._nats = nats
        self._bucket = bucket
        self._handle: KeyValue | None = None

    async def _kv(self) -> KeyValue:
        # Looked up once: each lookup is a round trip, and it would widen the window between
        # a provider accepting a message and the `sent` mark.
        if self._handle is None:
            self._handle = await self._nats.js.key_value(self._bucket)
        return self._handle

    async def claim(self, event_id: str, stale_after_s: float) -> Claim:
        kv = await self._kv()
        try:
            await kv.create(event_id, _sending())
            return Claim.MINE
        except KeyWrongLastSequenceError:
            pass
        try:
            entry = await kv.get(event_id)
        except KeyNotFoundError:  # released in between: try again next delivery
            return Claim.BUSY
        if entry.value == SENT:
            return Claim.SENT
        claimed_at = float((entry.value or b"sending:0").partition(b":")[2] or 0)
        if time.time() - claimed_at < stale_after_s or entry.revision is None:
            return Claim.BUSY
        try:
            await kv.update(event_id, _sending(), last=entry.revision)
        except KeyWrongLastSequenceError:
            return Claim.BUSY
        return Claim.MINE

    async def mark_sent(self, event_id: str) -> None:
        await (await self._kv()).put(event_id, SENT)

    async def release(self, event_id: str) -> None:
        """After a failed send: the retry may claim it again."""
        await (await self._kv()).delete(event_id)
