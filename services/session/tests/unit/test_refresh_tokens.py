"""Refresh tokens (format, parsing, successors) and the outcomes of a rotation. Pure."""

import base64
import hashlib
import uuid

import pytest

from tessera_session.domain.family import Rotation
from tessera_session.domain.refresh import RefreshToken, new_family, parse, successor, successors

USER = "3020dfc6-a073-4146-a594-3f11c5d6e4bc"
FAMILY = "9b2f6a4e-1c1d-4f0e-8a57-0c6f1f4f2d11"
SECRET = "A" * 43
KEY = b"refresh-key-one"


def secret_bytes(token: RefreshToken) -> bytes:
    return base64.urlsafe_b64decode(token.secret + "=")


def test_a_token_reads_user_family_and_secret_separated_by_dots():
    token = RefreshToken(USER, FAMILY, SECRET)

    assert str(token) == f"{USER}.{FAMILY}.{SECRET}"
    assert parse(str(token)) == token


def test_a_new_family_starts_with_a_256_bit_url_safe_secret_for_its_user():
    token = new_family(USER)

    assert token.user_id == USER
    assert uuid.UUID(token.family_id).version == 4
    assert len(token.secret) == 43
    assert "=" not in token.secret
    assert len(secret_bytes(token)) == 32
    assert parse(str(token)) == token


def test_every_new_family_has_its_own_id_and_secret():
    tokens = [new_family(USER) for _ in range(50)]

    assert len({t.family_id for t in tokens}) == 50
    assert len({t.secret for t in tokens}) == 50


def test_only_the_sha256_digest_of_the_secret_is_meant_to_be_stored():
    token = RefreshToken(USER, FAMILY, SECRET)

    assert token.digest == hashlib.sha256(SECRET.encode()).hexdigest()
    assert SECRET not in token.digest


def test_the_successor_is_the_same_for_the_same_token_and_key():
    token = new_family(USER)

    assert successor(token, KEY) == successor(token, KEY)


def test_the_successor_differs_per_key_and_per_token():
    token = new_family(USER)
    other = new_family(USER)

    assert successor(token, KEY) != successor(token, b"refresh-key-two")
    assert successor(token, KEY) != successor(other, KEY)


def test_the_successors_are_the_chain_of_rotations_a_straggler_is_compared_with():
    token = new_family(str(uuid.uuid4()))
    chain = successors(token, b"k", 3)
    assert chain == [
        successor(token, b"k"),
        successor(successor(token, b"k"), b"k"),
        successor(successor(successor(token, b"k"), b"k"), b"k"),
    ]
    assert successors(token, b"k", 0) == []


def test_the_successor_keeps_user_and_family_and_is_a_new_256_bit_secret():
    token = new_family(USER)

    following = successor(token, KEY)

    assert (following.user_id, following.family_id) == (token.user_id, token.family_id)
    assert following.secret != token.secret
    assert len(secret_bytes(following)) == 32
    assert parse(str(following)) == following
    chain = [token]
    for _ in range(20):
        chain.append(successor(chain[-1], KEY))
    assert len({t.secret for t in chain}) == 21


MALFORMED = {
    "nothing": None,
    "empty": "",
    "dots only": "..",
    "two parts": f"{USER}.{FAMILY}",
    "four parts": f"{USER}.{FAMILY}.{SECRET}.extra",
    "user not a uuid": f"not-a-uuid.{FAMILY}.{SECRET}",
    "family not a uuid": f"{USER}.not-a-uuid.{SECRET}",
    "secret too short": f"{USER}.{FAMILY}.{'A' * 42}",
    "secret too long": f"{USER}.{FAMILY}.{'A' * 44}",
    "secret padded": f"{USER}.{FAMILY}.{'A' * 42}=",
    "secret not url-safe +": f"{USER}.{FAMILY}.{'A' * 42}+",
    "secret not url-safe /": f"{USER}.{FAMILY}.{'A' * 42}/",
    "secret with a space": f"{USER}.{FAMILY}.{'A' * 42} ",
    "secret not ascii": f"{USER}.{FAMILY}.{'A' * 42}é",
    "secret with a trailing newline": f"{USER}.{FAMILY}.{SECRET}\n",
    "leading space": f" {USER}.{FAMILY}.{SECRET}",
    "over 200 characters": f"{USER}.{FAMILY}.{SECRET}" + "A" * 200,
    "huge": "x" * 10_000,
    "nul bytes": "\x00" * 80,
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_parse_refuses_malformed_input_without_raising(raw):
    assert parse(raw) is None


@pytest.mark.parametrize(
    ("outcome", "succeeded"),
    [
        (Rotation.ROTATED, True),
        (Rotation.REPLAYED, True),
        (Rotation.REUSE, False),
        (Rotation.MISMATCH, False),
        (Rotation.UNKNOWN, False),
        (Rotation.EXPIRED, False),
    ],
)
def test_only_a_rotation_or_a_replay_inside_the_window_succeeds(outcome, succeeded):
    assert outcome.succeeded is succeeded


def test_every_rotation_outcome_is_covered():
    assert {r.value for r in Rotation} == {
        "rotated",
        "replayed",
        "reuse",
        "mismatch",
        "unknown",
        "expired",
    }
