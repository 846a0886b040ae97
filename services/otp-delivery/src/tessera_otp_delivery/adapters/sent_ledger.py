"""Sent event ids in a JetStream key-value bucket with a TTL (idempotency across redeliveries)."""

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

from tessera_shared.nats import NatsConnection


async def ensure_bucket(js: JetStreamContext, bucket: str, ttl_s: int) -> KeyValue:
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(bucket=bucket, ttl=float(ttl_s), history=1, storage=StorageType.FILE)
        )


class KvSentLedger:
    def __init__(self, nats: NatsConnection, bucket: str) -> None:
        self._nats = nats
        self._bucket = bucket

    async def was_sent(self, event_id: str) -> bool:
        kv = await self._nats.js.key_value(self._bucket)
        try:
            await kv.get(event_id)
        except KeyNotFoundError:
            return False
        return True

    async def mark_sent(self, event_id: str) -> None:
        kv = await self._nats.js.key_value(self._bucket)
        await kv.put(event_id, b"1")
