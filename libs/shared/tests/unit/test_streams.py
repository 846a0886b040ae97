"""The stream declaration carries the configured replicas, so a start never undoes them."""

from typing import Any

from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError

from tessera_shared.contracts.streams import OtpStream, ensure_stream


class RecordingJetStream:
    """Stands in for the JetStream API: remembers what was declared; the stream exists."""

    def __init__(self) -> None:
        self.updated: list[StreamConfig] = []

    async def add_stream(self, config: StreamConfig, **_: Any) -> None:
        raise BadRequestError  # already there: the declaration becomes an update

    async def update_stream(self, config: StreamConfig, **_: Any) -> None:
        self.updated.append(config)


async def test_redeclaring_an_existing_stream_keeps_three_replicas():
    js = RecordingJetStream()
    await ensure_stream(js, OtpStream(name="S", subject_prefix="p.", replicas=3))  # type: ignore[arg-type]
    [config] = js.updated
    assert (config.name, config.subjects, config.num_replicas) == ("S", ["p.otp.>"], 3)
