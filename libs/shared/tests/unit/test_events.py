"""The delivery event contract and the stream's subjects: what crosses NATS between parts."""

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tessera_shared.contracts.events import (
    EVENT_DECODER,
    EVENT_ENCODER,
    DeliveryKind,
    DeliveryRequested,
)
from tessera_shared.contracts.streams import OtpStream

OCCURRED_AT = datetime(2025, 3, 14, 9, 26, 53, 123000, tzinfo=UTC)


def _event() -> DeliveryRequested:
    return DeliveryRequested(
        id="5b0e8f0e-2a4c-4c1e-9d7a-3f2b1c0d9e8f",
        occurred_at=OCCURRED_AT,
        kind=DeliveryKind.LOGIN_CODE,
        channel="email",
        recipient="ada@example.org",
        locale="de",
        user_id="u-42",
        code="012345",
        expires_in_s=600,
    )


def _payload() -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(EVENT_ENCODER.encode(_event()))
    return decoded


def _decode(payload: dict[str, Any]) -> DeliveryRequested:
    return EVENT_DECODER.decode(json.dumps(payload).encode())


# DeliveryRequested


def test_a_delivery_request_round_trips_through_the_encoder_and_decoder() -> None:
    event = _event()
    decoded = EVENT_DECODER.decode(EVENT_ENCODER.encode(event))
    assert decoded == event
    assert decoded.occurred_at.tzinfo is not None
    assert decoded.code == "012345"


def test_a_delivery_request_is_tagged_and_versioned_on_the_wire() -> None:
    payload = _payload()
    assert payload["type"] == "delivery.requested"
    assert payload["v"] == 1


def test_a_new_delivery_request_is_version_one() -> None:
    assert _event().v == 1


def test_optional_fields_default_to_none_and_still_round_trip() -> None:
    event = msgspec.structs.replace(
        _event(), kind=DeliveryKind.REGISTRATION_NOTICE, code=None, expires_in_s=None
    )
    assert EVENT_DECODER.decode(EVENT_ENCODER.encode(event)) == event


def test_a_payload_without_the_optional_fields_decodes_with_defaults() -> None:
    payload = _payload()
    del payload["code"], payload["expires_in_s"], payload["v"]
    decoded = _decode(payload)
    assert decoded.code is None
    assert decoded.expires_in_s is None
    assert decoded.v == 1


def test_a_payload_with_an_unknown_field_still_decodes() -> None:
    payload = _payload() | {"priority": "high", "trace": {"span": "abc"}}
    assert _decode(payload) == _event()


def test_a_payload_from_a_newer_version_still_decodes() -> None:
    payload = _payload() | {"v": 2, "sender_name": "Tessera"}
    decoded = _decode(payload)
    assert decoded.v == 2
    assert decoded.recipient == "ada@example.org"


@pytest.mark.parametrize(
    "field", ["id", "occurred_at", "kind", "channel", "recipient", "locale", "user_id"]
)
def test_a_payload_missing_a_required_field_is_rejected(field: str) -> None:
    payload = _payload()
    del payload[field]
    with pytest.raises(msgspec.ValidationError, match=field):
        _decode(payload)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("v", "1"),
        ("id", 42),
        ("occurred_at", "yesterday"),
        ("kind", "birthday_card"),
        ("channel", "fax"),
        ("recipient", None),
        ("code", 12345),
        ("expires_in_s", "600"),
    ],
)
def test_a_payload_with_a_wrong_type_is_rejected(field: str, value: object) -> None:
    payload = _payload() | {field: value}
    with pytest.raises(msgspec.ValidationError, match=field):
        _decode(payload)


def test_a_payload_with_another_tag_is_rejected() -> None:
    payload = _payload() | {"type": "delivery.sent"}
    with pytest.raises(msgspec.ValidationError, match="type"):
        _decode(payload)


def test_a_delivery_request_is_immutable() -> None:
    event = _event()
    with pytest.raises(AttributeError):
        event.code = "999999"  # type: ignore[misc]


# OtpStream


def _matches(subject: str, pattern: str) -> bool:
    """NATS subject matching: `*` is one token, `>` one or more trailing tokens."""
    tokens, wanted = subject.split("."), pattern.split(".")
    for i, want in enumerate(wanted):
        if want == ">":
            return len(tokens) > i
        if i >= len(tokens) or (want != "*" and want != tokens[i]):
            return False
    return len(tokens) == len(wanted)


def test_the_stream_has_a_default_name() -> None:
    assert OtpStream().name == "TESSERA_OTP"


def test_without_a_prefix_the_stream_uses_bare_subjects() -> None:
    stream = OtpStream()
    assert stream.subjects == ["otp.>"]
    assert stream.requested("email") == "otp.email.requested"
    assert stream.requested("sms") == "otp.sms.requested"
    assert stream.requests == "otp.*.requested"
    assert stream.dead_letters == "otp.dead"


def test_with_a_prefix_every_subject_carries_it() -> None:
    stream = OtpStream(name="TEST_OTP_1A2B", subject_prefix="t1a2b.")
    assert stream.name == "TEST_OTP_1A2B"
    assert stream.subjects == ["t1a2b.otp.>"]
    assert stream.requested("email") == "t1a2b.otp.email.requested"
    assert stream.requested("sms") == "t1a2b.otp.sms.requested"
    assert stream.requests == "t1a2b.otp.*.requested"
    assert stream.dead_letters == "t1a2b.otp.dead"


@pytest.mark.parametrize("prefix", ["", "t1a2b."])
def test_the_stream_captures_requests_and_dead_letters(prefix: str) -> None:
    stream = OtpStream(subject_prefix=prefix)
    (captured,) = stream.subjects
    for subject in (stream.requested("email"), stream.requested("sms"), stream.dead_letters):
        assert _matches(subject, captured)


@pytest.mark.parametrize("prefix", ["", "t1a2b."])
def test_the_requests_filter_takes_every_channel_but_not_dead_letters(prefix: str) -> None:
    stream = OtpStream(subject_prefix=prefix)
    assert _matches(stream.requested("email"), stream.requests)
    assert _matches(stream.requested("sms"), stream.requests)
    assert not _matches(stream.dead_letters, stream.requests)


def test_streams_with_different_prefixes_do_not_overlap() -> None:
    first, second = OtpStream(subject_prefix="a."), OtpStream(subject_prefix="b.")
    assert not _matches(second.requested("email"), first.subjects[0])
    assert not _matches(first.dead_letters, second.subjects[0])
