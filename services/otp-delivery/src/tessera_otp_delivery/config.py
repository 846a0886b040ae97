"""OTP delivery settings, from `TESSERA_OTP_*` environment variables."""

from typing import Annotated, Literal

import msgspec

from tessera_shared.config import ConfigError, load_config
from tessera_shared.contracts.streams import OtpStream
from tessera_shared.nats import check_servers_setting
from tessera_shared.settings import Port, ServiceSettings

PREFIX = "TESSERA_OTP_"
EMAIL_PROVIDERS = ("smtp", "console")
SMS_PROVIDERS = ("webhook", "twilio", "console")

Seconds = Annotated[float, msgspec.Meta(gt=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]


class OtpDeliverySettings(ServiceSettings, kw_only=True, frozen=True):
    port: Port = 8003
    """Port of the worker's health and metrics endpoints."""
    nats_url: str = "nats://127.0.0.1:4222"
    stream_name: str = "TESSERA_OTP"
    subject_prefix: str = ""
    """Prefix of every subject, to keep several deployments on one NATS apart."""
    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    """JetStream replicas of the stream and of the sent-ids bucket (as identity's)."""
    consumer_name: str = "otp-delivery"
    """Durable consumer name; all worker replicas share it."""
    max_deliver: Annotated[int, msgspec.Meta(ge=1, le=100)] = 8
    """Delivery attempts of one event before it goes to the dead-letter subject."""
    ack_wait_s: Seconds = 30.0
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    """Events handled at the same time by one worker."""
    retry_base_s: Seconds = 2.0
    """First retry delay; each further one doubles, up to retry_max_s."""
    retry_max_s: Seconds = 300.0
    sent_bucket: str = "otp_delivery_sent"
    """JetStream key-value bucket remembering sent event ids (idempotency)."""
    sent_ttl_s: Positive = 86400
    product_name: str = "Tessera"
    """Name shown in messages ("Your Tessera code is …")."""
    email_providers: str = "console"
    """Comma-separated, tried in order: smtp, console."""
    sms_providers: str = "console"
    """Comma-separated, tried in order: webhook, twilio, console."""
    smtp_host: str = "127.0.0.1"
    smtp_port: Port = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Tessera <no-reply@localhost>"
    smtp_timeout_s: Seconds = 10.0
    sms_timeout_s: Seconds = 10.0
    sms_webhook_url: str = ""
    sms_webhook_auth_header: str = ""
    """Whole header line sent to the webhook, e.g. `Authorization: Bearer abc`."""
    sms_webhook_body: str = '{"to": "$to", "text": "$text", "from": "$sender"}'
    """JSON body template; $to, $text, $sender and $purpose (what the code is for, e.g.
    `registration`) are replaced (JSON-escaped)."""
    sms_sender: str = "Tessera"
    """Sender id or number for SMS."""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_base_url: str = "https://api.twilio.com"

    @property
    def stream(self) -> OtpStream:
        return OtpStream(
            name=self.stream_name, subject_prefix=self.subject_prefix, replicas=self.stream_replicas
        )

    def providers(self, channel: Literal["email", "sms"]) -> list[str]:
        raw = self.email_providers if channel == "email" else self.sms_providers
        return [name.strip() for name in raw.split(",") if name.strip()]


def load_settings() -> OtpDeliverySettings:
    settings = load_config(OtpDeliverySettings, PREFIX)
    check_servers_setting(settings.nats_url, f"{PREFIX}NATS_URL")
    check_providers(settings)
    return settings


def check_providers(settings: OtpDeliverySettings) -> None:
    """Unknown providers, missing provider settings and console in production stop the start."""
    for channel, known in (("email", EMAIL_PROVIDERS), ("sms", SMS_PROVIDERS)):
        variable = f"{PREFIX}{channel.upper()}_PROVIDERS"
        names = settings.providers(channel)  # type: ignore[arg-type]
        if not names:
            raise ConfigError(f"{variable} must name at least one provider")
        for name in names:
            if name not in known:
                raise ConfigError(
                    f"{variable} names an unknown provider (known: {', '.join(known)})"
                )
            if name == "console" and settings.environment == "production":
                raise ConfigError(f"{variable}: the console provider is refused in production")
    needed = {
        "webhook": ("sms_webhook_url",),
        "twilio": ("twilio_account_sid", "twilio_auth_token"),
    }
    header = settings.sms_webhook_auth_header
    if header and (":" not in header or not header.partition(":")[0].strip()):
        raise ConfigError(f"{PREFIX}SMS_WEBHOOK_AUTH_HEADER must look like `Name: value`")
    for name in settings.providers("sms"):
        for field in needed.get(name, ()):
            if not getattr(settings, field):
                raise ConfigError(f"{PREFIX}{field.upper()} is required by the {name} SMS provider")
