"""Composition root: the NATS connection and its topology, inside the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from nats.js import JetStreamContext

from tessera_otp_delivery.adapters.jetstream import consumer_exists, ensure_topology
from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_shared.http.app import Lifespan
from tessera_shared.http.health import HealthChecks
from tessera_shared.nats import NatsConnection


def lifespan(settings: OtpDeliverySettings, health: HealthChecks) -> Lifespan:
    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        async def declare(js: JetStreamContext) -> None:
            await ensure_topology(js, settings)

        connection = NatsConnection(settings.nats_url, "tessera-otp-delivery", declare)
        connection.start()

        async def check() -> None:
            await connection.check()
            await consumer_exists(connection.js, settings)

        health.add("nats", check)
        app.state.nats = connection
        try:
            yield
        finally:
            await connection.close()

    return run
