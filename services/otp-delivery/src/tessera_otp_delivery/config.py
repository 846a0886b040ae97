"""OTP delivery settings, from `TESSERA_OTP_*` environment variables."""

from typing import Annotated

import msgspec

from tessera_shared.config import load_config
from tessera_shared.contracts.streams import OtpStream
from tessera_shared.settings import Port, ServiceSettings

PREFIX = "TESSERA_OTP_"


class OtpDeliverySettings(ServiceSettings, kw_only=True, frozen=True):
    port: Port = 8003
    """Port of the worker's health endpoints."""
    nats_url: str = "nats://127.0.0.1:4222"
    stream_name: str = "TESSERA_OTP"
    subject_prefix: str = ""
    """Prefix of every subject, to keep several deployments on one NATS apart."""
    consumer_name: str = "otp-delivery"
    """Durable consumer name; all worker replicas share it."""
    max_deliver: Annotated[int, msgspec.Meta(ge=1, le=100)] = 8
    ack_wait_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0

    @property
    def stream(self) -> OtpStream:
        return OtpStream(name=self.stream_name, subject_prefix=self.subject_prefix)


def load_settings() -> OtpDeliverySettings:
    return load_config(OtpDeliverySettings, PREFIX)
