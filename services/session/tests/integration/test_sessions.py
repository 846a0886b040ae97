"""Logout, the list of sessions, ending one or all of them."""

import time
from datetime import datetime

import pytest

from .conftest import (
    USERNAME,
    bearer,
    digest,
    error_of,
    set_cookie,
)

LOGGED_OUT = {"en": "Logged out successfully", "fr": "Déconnexion réussie"}


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_logout_clears_the_cookie_and_revokes_the_session_at_once(session, language):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)

    answer = await session.client.post(
        "/v1/logout",
        headers={
            **bearer(login.access_token),
            "x-device-id": "device-1",
            "accept-language": language,
        },
    )

    assert answer.status_code == 200
    assert answer.json() == {"status": 200, "message": LOGGED_OUT[language]}
    cleared = set_cookie(answer, "tessera_rt_web")
    assert cleared is not None
    assert (cleared.value, cleared["max-age"], cleared["path"]) == ("", "0", "/v1/refresh-token")
    assert session.keys(login.user_id) == []
    assert error_of(await session.sessions(login.access_token)) == (401, "token_invalid")
    assert error_of(await session.refresh(login.cookie)) == (401, "refresh_token_invalid")


async def test_a_second_login_on_the_same_device_and_app_replaces_the_session(session):
    session.identity.add_user(USERNAME)
    first = await session.login(USERNAME)

    second = await session.login(USERNAME)

    assert second.sid != first.sid
    assert session.family(first.user_id, first.sid) == {}
    assert session.family(second.user_id, second.sid)["current"] == digest(second.cookie)
    assert error_of(await session.sessions(first.access_token)) == (401, "token_invalid")
    assert error_of(await session.refresh(first.cookie)) == (401, "refresh_token_invalid")
    listed = (await session.sessions(second.access_token)).json()["sessions"]
    assert [s["id"] for s in listed] == [second.sid]


async def test_sessions_lists_every_device_and_ends_one_or_all(session):
    session.identity.add_user(USERNAME)
    laptop = await session.login(
        USERNAME,
        device="laptop",
        app="web",
        **{"user-agent": "Firefox/130", "x-forwarded-for": "203.0.113.7"},
    )
    phone = await session.login(
        USERNAME,
        device="phone",
        app="mobile",
        **{"user-agent": "TesseraApp/1.0", "x-forwarded-for": "2001:db8::1"},
    )

    answer = await session.sessions(laptop.access_token)

    assert answer.status_code == 200
    listed = {s["id"]: s for s in answer.json()["sessions"]}
    assert set(listed) == {laptop.sid, phone.sid}
    seen = listed[laptop.sid]
    assert set(seen) == {
        "id",
        "device_id",
        "app_id",
        "created_at",
        "last_used_at",
        "ip",
        "user_agent",
        "current",
    }
    assert (seen["device_id"], seen["app_id"], seen["ip"], seen["user_agent"]) == (
        "laptop",
        "web",
        "203.0.113.7",
        "Firefox/130",
    )
    assert seen["current"] is True
    other = listed[phone.sid]
    assert (other["device_id"], other["app_id"], other["ip"], other["user_agent"]) == (
        "phone",
        "mobile",
        "2001:db8::1",
        "TesseraApp/1.0",
    )
    assert other["current"] is False
    created = datetime.fromisoformat(other["created_at"])
    assert abs(created.timestamp() - time.time()) < 10
    assert datetime.fromisoformat(other["last_used_at"]) >= created

    ended = await session.client.delete(
        f"/v1/sessions/{phone.sid}", headers=bearer(laptop.access_token)
    )
    assert ended.status_code == 204
    assert session.family(phone.user_id, phone.sid) == {}
    assert error_of(await session.sessions(phone.access_token)) == (401, "token_invalid")
    assert error_of(await session.refresh(phone.cookie, device="phone", app="mobile")) == (
        401,
        "refresh_token_invalid",
    )
    remaining = (await session.sessions(laptop.access_token)).json()["sessions"]
    assert [s["id"] for s in remaining] == [laptop.sid]

    unknown = await session.client.delete(
        f"/v1/sessions/{phone.sid}", headers=bearer(laptop.access_token)
    )
    assert error_of(unknown) == (404, "session_not_found")

    phone = await session.login(USERNAME, device="phone", app="mobile")
    everything = await session.client.post("/v1/logout-all", headers=bearer(laptop.access_token))
    assert everything.status_code == 200
    assert everything.json() == {"status": 200, "message": "Logged out successfully"}
    assert session.keys(laptop.user_id) == []
    assert error_of(await session.sessions(laptop.access_token)) == (401, "token_invalid")
    assert error_of(await session.sessions(phone.access_token)) == (401, "token_invalid")


async def test_a_user_cannot_end_the_session_of_another_user(session):
    session.identity.add_user(USERNAME)
    session.identity.add_user("mallory@example.com")
    jane = await session.login(USERNAME)
    mallory = await session.login("mallory@example.com", device="device-9")

    answer = await session.client.delete(
        f"/v1/sessions/{jane.sid}", headers=bearer(mallory.access_token)
    )

    assert error_of(answer) == (404, "session_not_found")
    assert session.family(jane.user_id, jane.sid)["current"] == digest(jane.cookie)
    assert (await session.sessions(jane.access_token)).status_code == 200
