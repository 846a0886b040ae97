"""Signing keys in a folder: which one signs, what the JWKS publishes."""

import calendar
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from tessera_session.adapters import keys
from tessera_session.adapters.keys import KeyRing, generate, load_folder, load_pem

A_SECOND = time.struct_time((2026, 1, 2, 3, 4, 5, 4, 2, 0))
NEXT_SECOND = time.struct_time((2026, 1, 2, 3, 4, 6, 4, 2, 0))


def test_a_generated_key_is_readable_by_its_owner_only(tmp_path):
    key = generate(tmp_path / "keys")

    path = tmp_path / "keys" / f"{key.kid}.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [k.kid for k in load_folder(tmp_path / "keys")] == [key.kid]


def test_a_key_made_a_second_later_signs_and_both_are_published_newest_first(tmp_path, monkeypatch):
    monkeypatch.setattr(keys.time, "gmtime", lambda *_: A_SECOND)
    old = generate(tmp_path)
    monkeypatch.setattr(keys.time, "gmtime", lambda *_: NEXT_SECOND)
    new = generate(tmp_path)

    ring = KeyRing(load_folder(tmp_path))

    assert ring.current.kid == new.kid
    published = ring.jwks()["keys"]
    assert [k["kid"] for k in published] == [new.kid, old.kid]
    assert all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in published)


def test_the_newest_key_signs_even_when_two_keys_are_made_in_the_same_second(tmp_path, monkeypatch):
    # Kids are `<timestamp to the second>-<thumbprint>`; within one second, sorting by name
    # sorts by thumbprint, i.e. at random. Sixteen pairs make a lucky pass negligible.
    monkeypatch.setattr(keys.time, "gmtime", lambda *_: A_SECOND)
    # The clock ticks inside that one second; the real one could wrap to the next second's
    # microseconds while gmtime stays frozen, and the test would fail for a reason of its own.
    ticks = iter(range(calendar.timegm(A_SECOND) * 10**9, 10**20, 1000))
    monkeypatch.setattr(keys.time, "time_ns", lambda: next(ticks))
    current = []
    for attempt in range(16):
        folder = tmp_path / str(attempt)
        generate(folder)
        newest = generate(folder)
        current.append(KeyRing(load_folder(folder)).current.kid == newest.kid)

    assert all(current), f"the older key signs in {current.count(False)} of 16 folders"


def test_a_key_other_than_ed25519_is_refused():
    pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    with pytest.raises(ValueError, match="Ed25519"):
        load_pem(pem)


def test_a_key_ring_needs_a_key():
    with pytest.raises(ValueError, match="no signing key"):
        KeyRing([])


def test_a_new_key_is_published_at_once_but_signs_only_after_the_delay(tmp_path, monkeypatch):
    monkeypatch.setattr(keys.time, "gmtime", lambda *_: A_SECOND)
    old = generate(tmp_path)
    monkeypatch.setattr(keys.time, "gmtime", lambda *_: NEXT_SECOND)
    new = generate(tmp_path)
    made = calendar.timegm(NEXT_SECOND)
    now = [made + 59.0]

    ring = KeyRing(load_folder(tmp_path), delay_s=60, clock=lambda: now[0])

    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid, old.kid]
    assert ring.current.kid == old.kid
    now[0] = made + 60.0
    assert ring.current.kid == new.kid


def test_a_first_key_signs_at_once_whatever_the_delay(tmp_path):
    first = generate(tmp_path)

    assert KeyRing(load_folder(tmp_path), delay_s=3600).current.kid == first.kid


async def test_replacing_the_keys_changes_what_is_published_and_what_verifies(tmp_path):
    first = generate(tmp_path / "a")
    second = generate(tmp_path / "b")
    ring = KeyRing([first])
    assert await ring.verification_keys.key(first.kid) is not None

    ring.replace([second])

    assert [k["kid"] for k in ring.jwks()["keys"]] == [second.kid]
    assert await ring.verification_keys.key(second.kid) is not None
    assert await ring.verification_keys.key(first.kid) is None
