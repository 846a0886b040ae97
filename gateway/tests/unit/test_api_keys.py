import hashlib
from datetime import UTC, datetime

import pytest

from tessera_gateway.api_keys import (
    KEY_PREFIX,
    ApiKeyRecord,
    InvalidKeyNameError,
    check_name,
    hash_key,
    hash_matches,
    is_key_id,
    is_well_formed,
    key_id_of,
    new_key,
)
from tessera_gateway.routes import checks_of


def test_a_new_key_is_the_prefix_and_256_random_bits_in_base64url():
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert key.startswith(KEY_PREFIX)
        assert len(key) == len(KEY_PREFIX) + 43
        assert is_well_formed(key)


def test_the_key_id_is_the_public_start_of_the_key():
    key = new_key()
    key_id = key_id_of(key)
    assert key_id == key[:12]
    assert is_key_id(key_id)
    assert not is_well_formed(key_id)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "k",
        "tsk_",
        "tsk_" + "a" * 42,
        "tsk_" + "a" * 44,
        "tsx_" + "a" * 43,
        "tsk_" + "a" * 42 + "=",
        "tsk_" + "a" * 42 + "+",
        "tsk_" + "a" * 43 + "\n",
    ],
)
def test_values_that_cannot_be_an_issued_key_are_not_well_formed(value):
    assert not is_well_formed(value)


def test_the_stored_hash_is_the_sha256_of_the_whole_key():
    key = new_key()
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert key not in hash_key(key)


def test_a_hash_matches_its_own_key_only():
    key = new_key()
    stored = hash_key(key)
    assert hash_matches(key, stored)
    assert not hash_matches(new_key(), stored)
    assert not hash_matches(key[:-1], stored)
    assert not hash_matches(key, "")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/users/initiate-registration",
        "/v1/users/verify-registration",
        "/v1/users/resend-code",
        "/v1/users/initiate-registration/",
        "/v1/users/./initiate-registration",
        "/v1/users//resend-code",
        "//v1/users/verify-registration/.",
    ],
)
def test_registration_paths_need_a_key_however_they_are_spelled(path):
    assert checks_of(path).api_key


@pytest.mark.parametrize(
    "path",
    [
        "/v1/authenticate",
        "/v1/refresh-token",
        "/v1/users/me",
        "/v1/users",
        "/v1/users/initiate-registration-x",
        "/v1/users/initiate-registration/x",
        "/.well-known/jwks.json",
        "/",
        "",
    ],
)
def test_other_paths_need_no_key(path):
    route = checks_of(path)
    assert route is None or not route.api_key


def test_a_key_name_is_stripped():
    assert check_name("  ios-app ") == "ios-app"
    assert check_name("Zürich web") == "Zürich web"


@pytest.mark.parametrize("name", ["", "   ", "a" * 65, "bad\nname", "tab\there"])
def test_a_key_name_that_cannot_label_a_listing_is_refused(name):
    with pytest.raises(InvalidKeyNameError):
        check_name(name)


def test_a_record_is_active_until_revoked():
    created = datetime(2024, 1, 1, tzinfo=UTC)
    record = ApiKeyRecord(key_id="tsk_abcdefgh", name="web", created_at=created)
    assert record.active
    revoked = ApiKeyRecord(
        key_id="tsk_abcdefgh", name="web", created_at=created, revoked_at=created
    )
    assert not revoked.active
