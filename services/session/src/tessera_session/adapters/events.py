"""Publishes session events (`session.reuse_detected`) to NATS, best effort.

Session has no database to keep an outbox in; when NATS is down the event is logged (as a
warning, with the user and family ids) instead, and the revocation itself never depends on it.
"""

import logging
import time
import uuid

import msgspec
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from tessera_shared.nats import NatsConnection
from tessera_shared.telemetry import trace_headers

log = logging.getLogger("tessera.session.events")


class ReuseDetected(msgspec.Struct, frozen=True, kw_only=True, tag="session.reuse_detected"):
    v: int = 1
    id: str
    occurred_at: float
    user_id: str
    family_id: str
    device_id: str
    app_id: str
    ip: str


async def ensure_session_stream(
    js: JetStreamContext, name: str, prefix: str, replicas: int = 1
) -> None:
    config = StreamConfig(
        name=name,
        subjects=[f"{prefix}session.>"],
        storage=StorageType.FILE,
        max_age=30 * 86400,
        num_replicas=replicas,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


class NatsSessionEvents:
    def __init__(self, nats: NatsConnection, prefix: str) -> None:
        self._nats = nats
        self._subject = f"{prefix}session.reuse_detected"

    async def reuse_detected(
        self, *, user_id: str, family_id: str, device_id: str, app_id: str, ip: str
    ) -> None:
        event = ReuseDetected(
            id=str(uuid.uuid4()),
            occurred_at=time.time(),
            user_id=user_id,
            family_id=family_id,
            device_id=device_id,
            app_id=app_id,
            ip=ip,
        )
        try:
            await self._nats.js.publish(
                self._subject,
                msgspec.json.encode(event),
                headers={"Nats-Msg-Id": event.id, **trace_headers()},
                timeout=2.0,
            )
        except Exception as exc:
            log.warning(
                "reuse detected but not published (%s)",
                type(exc).__name__,
                extra={"user_id": user_id, "family_id": family_id},
            )
