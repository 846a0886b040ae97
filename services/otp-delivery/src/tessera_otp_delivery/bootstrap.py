"""Composition root: NATS, providers, the ledger, the service and the consumer feeding it;
started and stopped in the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from litestar import Litestar
from nats.js import JetStreamContext

from tessera_otp_delivery.adapters.console import ConsoleEmail, ConsoleSms
from tessera_otp_delivery.adapters.consumer import Consumer
from tessera_otp_delivery.adapters.fallback import Fallback
from tessera_otp_delivery.adapters.jetstream import consumer_exists, ensure_topology
from tessera_otp_delivery.adapters.sent_ledger import KvSentLedger
from tessera_otp_delivery.adapters.sms_http import TwilioSms, WebhookSms
from tessera_otp_delivery.adapters.smtp import SmtpSender
from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_otp_delivery.domain.retry import RetryPolicy
from tessera_otp_delivery.metrics import DeliveryMetrics
from tessera_otp_delivery.ports import Email, EmailSender, Sms, SmsSender
from tessera_otp_delivery.service import Deliverer, DeliveryHandler
from tessera_shared.http.app import Lifespan
from tessera_shared.http.health import HealthChecks
from tessera_shared.i18n import SHARED_CATALOGS, Translator
from tessera_shared.nats import NatsConnection
from tessera_shared.shutdown import within

CATALOGS = Path(__file__).parent / "locales"


def email_sender(settings: OtpDeliverySettings) -> Fallback[Email]:
    made: dict[str, EmailSender] = {"smtp": SmtpSender(settings), "console": ConsoleEmail()}
    return Fallback([made[name] for name in settings.providers("email")])


def sms_sender(settings: OtpDeliverySettings, client: aiohttp.ClientSession) -> Fallback[Sms]:
    made: dict[str, SmsSender] = {
        "webhook": WebhookSms(settings, client),
        "twilio": TwilioSms(settings, client),
        "console": ConsoleSms(),
    }
    return Fallback([made[name] for name in settings.providers("sms")])


def lifespan(
    settings: OtpDeliverySettings, health: HealthChecks, metrics: DeliveryMetrics
) -> Lifespan:
    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        async def declare(js: JetStreamContext) -> None:
            await ensure_topology(js, settings)

        connection = NatsConnection(settings.nats_url, "tessera-otp-delivery", declare)
        connection.start()
        client = aiohttp.ClientSession()
        deliverer = Deliverer(
            email_sender(settings),
            sms_sender(settings, client),
            Translator([SHARED_CATALOGS, CATALOGS]),
            settings.product_name,
        )
        handler = DeliveryHandler(
            deliverer=deliverer,
            ledger=KvSentLedger(connection, settings.sent_bucket),
            metrics=metrics,
            policy=RetryPolicy(
                max_attempts=settings.max_deliver,
                base_s=settings.retry_base_s,
                max_s=settings.retry_max_s,
            ),
            stale_after_s=settings.ack_wait_s,
        )
        worker = Consumer(connection, settings, handler)
        worker.start()

        async def check() -> None:
            await connection.check()
            await consumer_exists(connection.js, settings)

        health.add("nats", check)
        try:
            yield
        finally:
            await within("worker", worker.stop(), seconds=25)
            await within("http client", client.close())
            await within("nats", connection.close())

    return run
