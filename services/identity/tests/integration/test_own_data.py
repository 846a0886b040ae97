"""`GET /v1/users/me/export` and `DELETE /v1/users/me` against real PostgreSQL and NATS."""

import asyncio
import uuid

import pytest

from tessera_shared.testing.personal_data import columns_holding

from .conftest import CHEAP_ARGON2, Env

PASSWORD = "correct horse battery staple"
SESSION = {
    "id": "fam-1",
    "device_id": "laptop",
    "app_id": "web",
    "created_at": "2026-12-01T10:00:00Z",
    "last_used_at": "2026-12-01T11:00:00Z",
    "ip": "203.0.113.9",
    "user_agent": "Firefox",
}


@pytest.fixture
def me(with_sessions: Env) -> Env:
    return with_sessions


def account(env: Env, mfa_mode: str = "none") -> tuple[uuid.UUID, str, dict[str, str]]:
    """A user with a password (and a phone): id, email, the bearer header of a session."""
    email = f"me-{uuid.uuid4().hex[:12]}@example.com"
    phone = f"+4178{uuid.uuid4().int % 10**7:07d}"
    user_id = env.active_user(email, phone, mfa_mode=mfa_mode)
    env.execute(
        "UPDATE users SET password_hash = %s WHERE id = %s", CHEAP_ARGON2.hash(PASSWORD), user_id
    )
    return user_id, email, {"authorization": f"Bearer {env.access_token(user_id)}"}


async def test_an_export_holds_the_persons_data_and_sessions_but_no_secret(me, sessions):
    user_id, email, bearer = account(me)
    me.execute("INSERT INTO recovery_codes (user_id, code_hash) VALUES (%s, %s)", user_id, b"r")
    sessions.listed = [SESSION]

    answer = await me.client.get("/v1/users/me/export", headers=bearer)

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["user"]["id"] == str(user_id)
    assert body["user"]["password_set"] is True
    assert [(c["type"], c["verified"]) for c in body["credentials"]] == [
        ("email", True),
        ("phone", True),
    ]
    assert body["credentials"][0]["value"] == email
    assert body["mfa"] == {"mode": "none", "totp_enabled": False, "recovery_codes_left": 1}
    assert [s["device_id"] for s in body["sessions"]] == ["laptop"]
    assert "argon2" not in answer.text
    assert (
        me.scalar(
            "SELECT count(*) FROM audit_events WHERE user_id = %s AND event = 'data_exported'",
            user_id,
        )
        == 1
    )
    again = await me.client.get("/v1/users/me/export", headers=bearer)
    assert [e["action"] for e in again.json()["audit_events"]] == ["data_exported"]


async def test_deleting_ones_account_needs_the_password_and_changes_nothing_without_it(me):
    user_id, _, bearer = account(me)

    missing = await me.client.request("DELETE", "/v1/users/me", json={}, headers=bearer)
    wrong = await me.client.request(
        "DELETE", "/v1/users/me", json={"password": "not it"}, headers=bearer
    )
    stranger = await me.client.request("DELETE", "/v1/users/me", json={"password": PASSWORD})

    assert missing.status_code == 422
    assert wrong.json()["code"] == "invalid_credentials"
    assert stranger.status_code == 401
    assert me.scalar("SELECT status FROM users WHERE id = %s", user_id) == "active"


async def test_with_mfa_on_a_deletion_also_needs_a_current_code_of_the_factor(me, sessions):
    user_id, email, bearer = account(me, mfa_mode="email")

    no_code = await me.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=bearer
    )
    await me.client.post("/v1/users/me/mfa/code", headers=bearer)
    code = (await me.event(email, "security_code")).code
    deleted = await me.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD, "otp": code}, headers=bearer
    )

    assert no_code.json()["code"] == "step_up_required"
    assert deleted.status_code == 204, deleted.text
    assert me.scalar("SELECT count(*) FROM users WHERE id = %s", user_id) == 0
    assert [c.body["purge"] for c in sessions.calls] == [False, True]


async def test_a_deleted_account_gets_its_notice_and_then_no_copy_of_its_address_remains(me):
    user_id, email, bearer = account(me)

    deleted = await me.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=bearer
    )
    notice = await me.event(email, "account_deleted_notice")
    for _ in range(50):  # the relay deletes the published notice's row
        with me.db() as conn:
            left = columns_holding(conn, email)
        if not left:
            break
        await asyncio.sleep(0.1)

    assert deleted.status_code == 204, deleted.text
    assert (notice.user_id, notice.code) == (str(user_id), None)
    assert left == []
    tombstone = me.scalar(
        "SELECT actor || ' ' || ip FROM audit_events"
        " WHERE user_id = %s AND event = 'account_deleted'",
        user_id,
    )
    assert tombstone == "user "
    after = await me.client.get("/v1/users/me/export", headers=bearer)
    assert after.status_code == 403
