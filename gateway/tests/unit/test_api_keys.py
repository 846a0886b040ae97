import hashlib
from datetime import UTC, datetime

import pytest

from tessera_gateway.api_keys import (
    ADMIN_KEY_PREFIX,
    ALL_SCOPES,
    KEY_PREFIX,
    ApiKeyRecord,
    InvalidKeyNameError,
    InvalidScopeError,
    KeyKind,
    admin_headers,
    check_name,
    check_scopes,
    hash_key,
    hash_matches,
    is_key_id,
    is_well_formed,
    key_id_of,
    kind_of_key_id,
    new_key,
    parse_scopes,
)
from tessera_gateway.routes import checks_of
from tessera_shared.contracts.admin import AdminScope


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


# --- admin keys ---


def test_a_new_admin_key_is_tsa_and_256_random_bits_and_its_id_the_first_12_characters():
    key = new_key(KeyKind.ADMIN)
    assert key.startswith(ADMIN_KEY_PREFIX)
    assert len(key) == len(ADMIN_KEY_PREFIX) + 43
    assert is_well_formed(key, KeyKind.ADMIN)
    assert key_id_of(key) == key[:12]
    assert is_key_id(key_id_of(key), KeyKind.ADMIN)


def test_a_client_key_is_never_well_formed_as_an_admin_key_nor_the_reverse():
    client, admin = new_key(), new_key(KeyKind.ADMIN)
    assert not is_well_formed(admin)
    assert not is_well_formed(client, KeyKind.ADMIN)
    assert not is_key_id(key_id_of(admin))
    assert not is_key_id(key_id_of(client), KeyKind.ADMIN)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("tsk_abcdefgh", KeyKind.CLIENT),
        ("tsa_abcdefgh", KeyKind.ADMIN),
        ("tsa_abc-_fgh", KeyKind.ADMIN),
        ("tsa_abcdefg", None),
        ("tsx_abcdefgh", None),
        ("*", None),
    ],
)
def test_a_key_id_tells_which_kind_of_key_it_names(value, kind):
    assert kind_of_key_id(value) == kind


def test_no_scope_named_means_every_scope_in_their_order():
    assert parse_scopes([]) == ALL_SCOPES
    assert ALL_SCOPES == (
        AdminScope.USERS_READ,
        AdminScope.USERS_WRITE,
        AdminScope.SESSIONS_WRITE,
        AdminScope.AUDIT_READ,
    )


def test_named_scopes_are_kept_once_each_in_their_order():
    assert parse_scopes(["audit:read", "users:read", "audit:read"]) == (
        AdminScope.USERS_READ,
        AdminScope.AUDIT_READ,
    )


@pytest.mark.parametrize("name", ["users:delete", "USERS:READ", "users", ""])
def test_an_unknown_scope_is_refused_naming_it_and_the_known_ones(name):
    with pytest.raises(InvalidScopeError) as refusal:
        parse_scopes(["users:read", name])
    assert repr(name) in str(refusal.value)
    assert "users:read, users:write, sessions:write, audit:read" in str(refusal.value)


def test_an_admin_key_without_any_scope_is_refused():
    with pytest.raises(InvalidScopeError):
        check_scopes([])


def test_the_service_is_told_the_admin_keys_id_and_its_scopes_separated_by_spaces():
    record = ApiKeyRecord(
        key_id="tsa_abcdefgh",
        name="ops",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        kind=KeyKind.ADMIN,
        scopes=(AdminScope.USERS_READ, AdminScope.USERS_WRITE),
    )
    assert admin_headers(record) == {
        "x-admin-key-id": "tsa_abcdefgh",
        "x-admin-scopes": "users:read users:write",
    }


def test_a_record_without_a_kind_is_a_client_keys_with_no_scope():
    record = ApiKeyRecord(key_id="tsk_abcdefgh", name="web", created_at=datetime(2024, 1, 1))
    assert record.kind == KeyKind.CLIENT
    assert record.scopes == ()
