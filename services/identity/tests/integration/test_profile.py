"""The signed-in user's profile (display name, language), against real PostgreSQL and NATS."""

import uuid

import httpx

from .conftest import Env


def email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def bearer(env: Env, user_id: uuid.UUID) -> dict[str, str]:
    return {"authorization": f"Bearer {env.access_token(user_id)}"}


async def update(env: Env, user_id: uuid.UUID, body: object) -> httpx.Response:
    return await env.client.patch("/v1/users/me", json=body, headers=bearer(env, user_id))


async def me(env: Env, user_id: uuid.UUID) -> dict[str, object]:
    answer = await env.client.get("/v1/users/me", headers=bearer(env, user_id))
    assert answer.status_code == 200
    body: dict[str, object] = answer.json()
    return body


async def test_a_profile_update_changes_only_the_fields_sent(identity):
    user_id = identity.active_user(email())
    assert (await me(identity, user_id))["name"] is None

    named = await update(identity, user_id, {"name": "  Jane Smith "})
    assert (named.status_code, named.json()) == (200, {"name": "Jane Smith", "locale": "en"})

    relocated = await update(identity, user_id, {"locale": "fr"})
    assert relocated.json() == {"name": "Jane Smith", "locale": "fr"}
    assert {k: v for k, v in (await me(identity, user_id)).items() if k in ("name", "locale")} == {
        "name": "Jane Smith",
        "locale": "fr",
    }

    cleared = await update(identity, user_id, {"name": None})
    assert cleared.json() == {"name": None, "locale": "fr"}
    assert (await update(identity, user_id, {})).json() == {"name": None, "locale": "fr"}
    events = identity.scalar(
        "SELECT string_agg(subject, ' ' ORDER BY id) FROM audit_events"
        " WHERE event = 'profile_updated' AND user_id = %s",
        user_id,
    )
    assert events == "name locale name"


async def test_a_blank_or_overlong_name_and_an_unknown_language_are_refused(identity):
    user_id = identity.active_user(email())
    for body, field, code in (
        ({"name": "   "}, "name", "invalid_value"),
        ({"name": ""}, "name", "too_short"),
        ({"name": "x" * 101}, "name", "too_long"),
        ({"name": "Jane\nSmith"}, "name", "invalid_value"),
        ({"locale": "es"}, "locale", "invalid_value"),
        ({"name": 7}, "name", "wrong_type"),
        ({"nickname": "Jane"}, "nickname", "unknown_field"),
    ):
        answer = await update(identity, user_id, body)
        assert answer.status_code == 422, body
        assert answer.json()["code"] == "validation_failed"
        assert [(d["field"], d["code"]) for d in answer.json()["details"]] == [(field, code)]
        assert answer.json()["details"][0]["message"]
    assert (await me(identity, user_id))["name"] is None


async def test_a_changed_language_is_the_language_of_later_messages(identity):
    address = email()
    user_id = identity.active_user(address)
    assert (await update(identity, user_id, {"locale": "de"})).status_code == 200

    await identity.client.post("/v1/users/password-reset/request", json={"username": address})

    assert (await identity.event(address, "password_reset_code")).locale == "de"


async def test_the_profile_needs_an_access_token_of_an_active_account(identity):
    user_id = identity.active_user(email())
    missing = await identity.client.patch("/v1/users/me", json={"name": "Jane"})
    assert (missing.status_code, missing.json()["code"]) == (401, "unauthorized")
    challenge = await identity.client.patch(
        "/v1/users/me",
        json={"name": "Jane"},
        headers={"authorization": f"Bearer {identity.challenge_token(user_id, 'totp')}"},
    )
    assert (challenge.status_code, challenge.json()["code"]) == (401, "token_invalid")
    identity.execute("UPDATE users SET status = 'disabled' WHERE id = %s", user_id)
    disabled = await update(identity, user_id, {"name": "Jane"})
    assert (disabled.status_code, disabled.json()["code"]) == (403, "forbidden")
    stranger = await update(identity, uuid.uuid4(), {"name": "Jane"})
    assert (stranger.status_code, stranger.json()["code"]) == (403, "forbidden")
