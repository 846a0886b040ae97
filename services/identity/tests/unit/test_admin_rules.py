"""The admin API's pure rules: scopes, actors, searches and cursors."""

import uuid
from datetime import UTC, datetime

import pytest

from tessera_identity.domain.admin import (
    AdminScope,
    AuditCursor,
    InvalidCursorError,
    SearchTerm,
    UserCursor,
    actor_of,
    decode_cursor,
    encode_cursor,
    scopes_of,
    search_term,
)


def test_forwarded_scopes_keep_only_the_known_ones():
    assert scopes_of("users:read  audit:read users:delete") == {
        AdminScope.USERS_READ,
        AdminScope.AUDIT_READ,
    }
    assert scopes_of("") == frozenset()


@pytest.mark.parametrize(
    ("key_id", "actor"),
    [("tsa_AbCd_-12", "admin:tsa_AbCd_-12"), ("tsa_short", "admin:unknown"), ("", "admin:unknown")],
)
def test_an_admin_action_is_recorded_as_its_key_id_and_nothing_else(key_id, actor):
    assert actor_of(key_id) == actor


@pytest.mark.parametrize(
    ("query", "term"),
    [
        ("", SearchTerm()),
        ("  Jane.Doe@Example.COM ", SearchTerm(prefix="jane.doe@example.com")),
        ("+41 79 123-45", SearchTerm(prefix="+417912345")),
        ("4179", SearchTerm(prefix="+4179")),
        ("50%_off\\", SearchTerm(prefix="50\\%\\_off\\\\")),
    ],
)
def test_a_search_is_the_start_of_an_address_as_stored_with_wildcards_escaped(query, term):
    assert search_term(query) == term


def test_a_user_id_is_searched_exactly():
    user_id = uuid.uuid4()
    assert search_term(str(user_id).upper()) == SearchTerm(user_id=user_id)


def test_cursors_round_trip_and_anything_else_is_refused():
    users = UserCursor(datetime(2026, 12, 7, 10, tzinfo=UTC), uuid.uuid4())
    assert decode_cursor(encode_cursor(users), UserCursor) == users
    assert decode_cursor(encode_cursor(AuditCursor(42)), AuditCursor) == AuditCursor(42)
    for forged in ("not-ours", encode_cursor(AuditCursor(42)) + "!", "W10"):
        with pytest.raises(InvalidCursorError):
            decode_cursor(forged, UserCursor)
