"""The admin API (`/admin/v1/...`) against real PostgreSQL and NATS, the session service a
stand-in: what operators see and change, and what is stored after."""

import uuid
from typing import Any

import pytest

from tessera_shared.testing.personal_data import columns_holding

from .conftest import CHEAP_ARGON2, INTERNAL_TOKEN, Env

KEY_ID = "tsa_Op3rAt0r"
ALL_SCOPES = "users:read users:write sessions:write audit:read"
PASSWORD = "correct horse battery staple"


def admin(scopes: str = ALL_SCOPES) -> dict[str, str]:
    """The headers the gateway forwards with an admin key."""
    return {"x-internal-token": INTERNAL_TOKEN, "x-admin-key-id": KEY_ID, "x-admin-scopes": scopes}


@pytest.fixture
def ops(with_sessions: Env) -> Env:
    return with_sessions


def an_email() -> str:
    return f"ops-{uuid.uuid4().hex[:12]}@example.com"


def with_password(env: Env, email: str, phone: str | None = None) -> uuid.UUID:
    user_id = env.active_user(email, phone)
    env.execute(
        "UPDATE users SET password_hash = %s WHERE id = %s", CHEAP_ARGON2.hash(PASSWORD), user_id
    )
    return user_id


async def sign_in(env: Env, username: str, password: str = PASSWORD) -> tuple[int, str]:
    answer = await env.client.post(
        "/internal/v1/password/verify",
        json={"username": username, "password": password, "client_ip": "203.0.113.9"},
        headers={"x-internal-token": INTERNAL_TOKEN},
    )
    return answer.status_code, answer.json().get("code", "")


async def test_the_admin_api_needs_the_gateways_token_and_the_routes_scope(ops):
    user_id = with_password(ops, an_email())

    no_token = await ops.client.get(
        f"/admin/v1/users/{user_id}", headers={"x-admin-scopes": ALL_SCOPES}
    )
    read_only = await ops.client.post(
        f"/admin/v1/users/{user_id}/disable", headers=admin("users:read")
    )
    unknown_scope = await ops.client.get("/admin/v1/audit", headers=admin("users:read audit:all"))

    assert no_token.status_code == 401
    assert read_only.status_code == 403
    assert read_only.json()["code"] == "admin_scope_missing"
    assert "users:write" in read_only.json()["message"]
    assert unknown_scope.json()["code"] == "admin_scope_missing"
    assert ops.scalar("SELECT status FROM users WHERE id = %s", user_id) == "active"


async def test_users_are_found_by_the_start_of_an_address_in_pages_newest_first(ops):
    stem = f"find-{uuid.uuid4().hex[:8]}"
    ids = [ops.active_user(f"{stem}-{n}@example.com") for n in range(3)]
    ops.execute("UPDATE users SET status = 'disabled' WHERE id = %s", ids[0])

    first = await ops.client.get(
        "/admin/v1/users", params={"query": stem.upper(), "limit": 2}, headers=admin()
    )
    cursor = first.json()["next_cursor"]
    second = await ops.client.get(
        "/admin/v1/users", params={"query": stem, "limit": 2, "cursor": cursor}, headers=admin()
    )
    disabled = await ops.client.get(
        "/admin/v1/users", params={"query": stem, "status": "disabled"}, headers=admin()
    )
    by_id = await ops.client.get("/admin/v1/users", params={"query": str(ids[1])}, headers=admin())
    forged = await ops.client.get("/admin/v1/users", params={"cursor": "not-ours"}, headers=admin())

    assert first.status_code == 200, first.text
    listed = [u["id"] for u in first.json()["users"]] + [u["id"] for u in second.json()["users"]]
    assert sorted(listed) == sorted(str(i) for i in ids)
    assert second.json()["next_cursor"] is None
    assert [u["id"] for u in disabled.json()["users"]] == [str(ids[0])]
    assert [(u["id"], u["email"]) for u in by_id.json()["users"]] == [
        (str(ids[1]), f"{stem}-1@example.com")
    ]
    assert forged.status_code == 422


async def test_an_operator_creates_a_verified_account_that_signs_in_and_is_audited(ops):
    email = an_email()

    made = await ops.client.post(
        "/admin/v1/users",
        json={"email": email.upper(), "password": PASSWORD, "name": "Ada", "locale": "fr"},
        headers=admin(),
    )
    again = await ops.client.post("/admin/v1/users", json={"email": email}, headers=admin())
    no_address = await ops.client.post("/admin/v1/users", json={"name": "Nobody"}, headers=admin())

    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["status"], body["name"], body["locale"], body["password_set"]) == (
        "active",
        "Ada",
        "fr",
        True,
    )
    assert [(c["type"], c["value"], c["verified"]) for c in body["credentials"]] == [
        ("email", email, True)
    ]
    assert await sign_in(ops, email) == (200, "")
    assert again.json()["code"] == "credential_unavailable"
    assert no_address.status_code == 422
    assert (
        ops.scalar(
            "SELECT actor FROM audit_events WHERE event = 'user_created' AND user_id = %s",
            body["id"],
        )
        == f"admin:{KEY_ID}"
    )


async def test_disabling_ends_every_session_and_refuses_sign_in_until_enabled(ops, sessions):
    email = an_email()
    user_id = with_password(ops, email)
    sessions.listed = [
        {
            "id": "fam-1",
            "device_id": "laptop",
            "app_id": "web",
            "created_at": "2026-12-01T10:00:00Z",
            "last_used_at": "2026-12-01T11:00:00Z",
            "ip": "203.0.113.9",
            "user_agent": "Firefox",
        }
    ]

    disabled = await ops.client.post(
        f"/admin/v1/users/{user_id}/disable", headers={**admin(), "x-request-id": "req-disable-1"}
    )
    refused = await sign_in(ops, email)
    enabled = await ops.client.post(f"/admin/v1/users/{user_id}/enable", headers=admin())

    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert disabled.json()["sessions"][0]["device_id"] == "laptop"
    assert [c.body for c in sessions.calls] == [
        {"user_id": str(user_id), "keep_session": None, "credential_version": 1, "purge": False}
    ]
    assert refused == (403, "account_disabled")
    assert enabled.json()["status"] == "active"
    assert await sign_in(ops, email) == (200, "")
    events = ops.scalar(
        "SELECT string_agg(event || ' ' || actor, ', ' ORDER BY id) FROM audit_events"
        " WHERE user_id = %s AND event LIKE 'account_%%'",
        user_id,
    )
    assert events == f"account_disabled admin:{KEY_ID}, account_enabled admin:{KEY_ID}"
    assert (
        ops.scalar(
            "SELECT request_id FROM audit_events WHERE user_id = %s AND event = 'account_disabled'",
            user_id,
        )
        == "req-disable-1"
    )


async def test_a_disable_the_session_service_cannot_confirm_changes_nothing(ops, sessions):
    user_id = with_password(ops, an_email())
    sessions.mode = "fail"

    answer = await ops.client.post(f"/admin/v1/users/{user_id}/disable", headers=admin())

    assert answer.status_code == 503
    assert ops.scalar("SELECT status FROM users WHERE id = %s", user_id) == "active"
    assert ops.scalar("SELECT count(*) FROM audit_events WHERE user_id = %s", user_id) == 0


async def test_unlock_clears_a_lockout_from_every_ip(ops):
    email = an_email()
    user_id = with_password(ops, email)
    for _ in range(12):
        await sign_in(ops, email, "wrong password")
    before = await ops.client.get(f"/admin/v1/users/{user_id}", headers=admin())

    unlocked = await ops.client.post(f"/admin/v1/users/{user_id}/unlock", headers=admin())

    assert before.json()["lockout"]["locked"] is True
    assert unlocked.json()["lockout"] == {"locked": False, "locked_until": None, "failures": 0}
    assert await sign_in(ops, email) == (200, "")


async def test_an_mfa_reset_removes_the_factors_and_tells_the_person(ops):
    email = an_email()
    user_id = with_password(ops, email)
    ops.execute("UPDATE users SET mfa_mode = 'totp' WHERE id = %s", user_id)
    ops.execute(
        "INSERT INTO totp_secrets (user_id, key_id, secret_sealed, confirmed_at)"
        " VALUES (%s, 'k1', %s, now())",
        user_id,
        b"s" * 40,
    )
    ops.execute("INSERT INTO recovery_codes (user_id, code_hash) VALUES (%s, %s)", user_id, b"r")

    answer = await ops.client.post(f"/admin/v1/users/{user_id}/mfa/reset", headers=admin())

    assert answer.json()["mfa"] == {"mode": "none", "totp_enabled": False, "recovery_codes_left": 0}
    assert ops.scalar("SELECT count(*) FROM totp_secrets WHERE user_id = %s", user_id) == 0
    notice = await ops.event(email, "mfa_reset_notice")
    assert notice.code is None


async def test_deleting_a_user_leaves_no_trace_of_their_addresses_but_a_tombstone(ops, sessions):
    email, phone = an_email(), f"+4179{uuid.uuid4().int % 10**7:07d}"
    user_id = with_password(ops, email, phone)
    ops.execute(
        "INSERT INTO code_requests (recipient, client_ip) VALUES (%s, '203.0.113.9')", email
    )
    await sign_in(ops, email, "wrong password")  # a counted failure and an audit row with its IP
    await sign_in(ops, email)
    reset = await ops.client.post("/v1/users/password-reset/request", json={"username": email})
    assert reset.status_code == 200
    await ops.event(email, "password_reset_code")  # a published outbox row naming the address

    deleted = await ops.client.delete(f"/admin/v1/users/{user_id}", headers=admin())
    shown = await ops.client.get(f"/admin/v1/users/{user_id}", headers=admin())

    assert deleted.status_code == 204, deleted.text
    assert shown.json()["code"] == "user_not_found"
    with ops.db() as conn:
        assert columns_holding(conn, email) == []
        assert columns_holding(conn, phone) == []
    trail = ops.scalar(
        "SELECT string_agg(event || '|' || actor || '|' || ip || '|' || subject, ',' ORDER BY id)"
        " FROM audit_events WHERE user_id = %s",
        user_id,
    )
    assert trail == f"login_failed|user||,login_succeeded|user||,user_deleted|admin:{KEY_ID}||"
    assert [c.body["credential_version"] for c in sessions.calls] == [1, None]
    assert [c.body["purge"] for c in sessions.calls] == [False, True]
    again = await ops.client.post("/admin/v1/users", json={"email": email}, headers=admin())
    assert again.status_code == 201
    assert again.json()["id"] != str(user_id)


async def test_the_audit_lists_events_newest_first_by_user_action_and_time(ops):
    user_id = with_password(ops, an_email())
    for _ in range(3):
        await ops.client.post(f"/admin/v1/users/{user_id}/unlock", headers=admin())
    await ops.client.post(f"/admin/v1/users/{user_id}/disable", headers=admin())

    page = await ops.client.get(
        "/admin/v1/audit", params={"user_id": str(user_id), "limit": 2}, headers=admin()
    )
    rest = await ops.client.get(
        "/admin/v1/audit",
        params={"user_id": str(user_id), "limit": 2, "cursor": page.json()["next_cursor"]},
        headers=admin(),
    )
    unlocks = await ops.client.get(
        "/admin/v1/audit",
        params={"user_id": str(user_id), "action": "account_unlocked"},
        headers=admin(),
    )
    future = await ops.client.get(
        "/admin/v1/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=admin()
    )

    actions = [e["action"] for e in page.json()["events"] + rest.json()["events"]]
    assert actions == [
        "account_disabled",
        "account_unlocked",
        "account_unlocked",
        "account_unlocked",
    ]
    assert rest.json()["next_cursor"] is None
    assert len(unlocks.json()["events"]) == 3
    assert future.json() == {"events": [], "next_cursor": None}
    event: dict[str, Any] = page.json()["events"][0]
    assert (event["actor"], event["user_id"]) == (f"admin:{KEY_ID}", str(user_id))
