"""The JetStream stream carrying delivery requests, declared the same way by every part.

Identity publishes `<prefix>otp.<channel>.requested`; otp-delivery consumes them and writes
`<prefix>otp.dead` for messages it gave up on. A prefix and stream name per deployment (or per
test) keep several on one NATS server apart.
"""

import msgspec
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

DUPLICATE_WINDOW_S = 15 * 60
# Messages carry one-time codes that expire in minutes; keep them no longer than a day.
MAX_AGE_S = 24 * 3600


class OtpStream(msgspec.Struct, frozen=True, kw_only=True):
    name: str = "TESSERA_OTP"
    subject_prefix: str = ""
    replicas: int = 1
    """Copies JetStream keeps (3 on a 3-node cluster); every declaring part must agree, since
    each start re-applies this configuration."""

    @property
    def subjects(self) -> list[str]:
        return [f"{self.subject_prefix}otp.>"]

    @property
    def requests(self) -> str:
        """Filter of the delivery requests (`otp.email.requested`, `otp.sms.requested`)."""
        return f"{self.subject_prefix}otp.*.requested"

    def requested(self, channel: str) -> str:
        return f"{self.subject_prefix}otp.{channel}.requested"

    @property
    def dead_letters(self) -> str:
        return f"{self.subject_prefix}otp.dead"


async def ensure_stream(js: JetStreamContext, stream: OtpStream) -> None:
    """Create the stream, or bring an existing one to this configuration. Idempotent."""
    config = StreamConfig(
        name=stream.name,
        subjects=stream.subjects,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        duplicate_window=DUPLICATE_WINDOW_S,
        max_age=MAX_AGE_S,
        num_replicas=stream.replicas,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
