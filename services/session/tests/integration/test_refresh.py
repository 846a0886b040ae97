"""Refresh rotation, the grace window and reuse detection, per the family race contract."""

import asyncio
import secrets

import pytest

from tessera_shared.testing.parallel import in_parallel

from .conftest import (
    USERNAME,
    StandInIdentity,
    StartSession,
    claims_of,
    digest,
    error_of,
    set_cookie,
)


async def test_refresh_rotates_the_cookie_and_keeps_the_session(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)

    first = await session.refresh(login.cookie)
    assert first.status_code == 200
    one = session.login_of(first)
    second = await session.refresh(one.cookie)
    assert second.status_code == 200
    two = session.login_of(second)

    assert len({login.cookie, one.cookie, two.cookie}) == 3
    assert len({login.access_token, one.access_token, two.access_token}) == 3
    assert {claims_of(t.access_token)["sid"] for t in (login, one, two)} == {login.sid}
    assert {one.sid, two.sid} == {login.sid}
    assert claims_of(two.access_token)["amr"] == ["pwd"]
    assert set(second.json()) == {"access_token", "expires_in", "user_id"}
    assert second.json()["expires_in"] == 899
    family = session.family(login.user_id, login.sid)
    assert family["current"] == digest(two.cookie)
    assert family["previous"] == digest(one.cookie)
    assert int(family["last_used_at"]) >= int(family["created_at"])
    assert one.cookie.split(".")[2] not in session.dump()
    assert two.cookie.split(".")[2] not in session.dump()
    assert (await session.sessions(two.access_token)).status_code == 200


async def test_reused_refresh_token_revokes_the_family_after_the_grace_window(
    start_session: StartSession, identity: StandInIdentity, test_id: str
):
    session = await start_session(refresh_grace_s=0.5)
    identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    one = session.login_of(await session.refresh(login.cookie))
    two = session.login_of(await session.refresh(one.cookie))

    replay = await session.refresh(one.cookie)  # another tab, inside the grace window

    assert replay.status_code == 200
    again = session.login_of(replay)
    assert again.cookie == two.cookie
    assert claims_of(again.access_token)["sid"] == login.sid
    assert session.family(login.user_id, login.sid)["current"] == digest(two.cookie)

    await session.stream_declared()
    await asyncio.sleep(0.7)
    reused = await session.refresh(one.cookie)

    assert error_of(reused) == (401, "refresh_token_invalid")
    assert "set-cookie" not in reused.headers
    assert session.family(login.user_id, login.sid) == {}
    assert session.keys(login.user_id) == []
    assert error_of(await session.refresh(two.cookie)) == (401, "refresh_token_invalid")
    assert error_of(await session.sessions(two.access_token)) == (401, "token_invalid")
    events = await session.events()
    assert [subject for subject, _ in events] == [f"t{test_id}.session.reuse_detected"]
    event = events[0][1]
    assert event["type"] == "session.reuse_detected"
    assert (event["user_id"], event["family_id"]) == (login.user_id, login.sid)
    assert (event["device_id"], event["app_id"]) == ("device-1", "web")


async def test_a_straggler_two_rotations_back_inside_its_window_gets_the_current_token(
    session, test_id: str
):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    one = session.login_of(await session.refresh(login.cookie))
    two = session.login_of(await session.refresh(one.cookie))
    await session.stream_declared()

    straggler = await session.refresh(login.cookie)  # a tab that slept through two rotations

    assert straggler.status_code == 200, straggler.text
    answered = session.login_of(straggler)
    assert answered.cookie == two.cookie
    assert claims_of(answered.access_token)["sid"] == login.sid
    family = session.family(login.user_id, login.sid)
    assert (family["current"], family["previous"]) == (digest(two.cookie), digest(one.cookie))
    assert (await session.sessions(answered.access_token)).status_code == 200
    assert (await session.refresh(two.cookie)).status_code == 200
    assert await session.events() == []


async def test_a_token_three_rotations_back_revokes_the_family_even_inside_the_window(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    one = session.login_of(await session.refresh(login.cookie))
    two = session.login_of(await session.refresh(one.cookie))
    three = session.login_of(await session.refresh(two.cookie))

    reused = await session.refresh(login.cookie)

    assert error_of(reused) == (401, "refresh_token_invalid")
    assert session.keys(login.user_id) == []
    assert error_of(await session.refresh(three.cookie)) == (401, "refresh_token_invalid")


async def test_a_token_two_rotations_back_replayed_after_its_window_revokes_the_family(
    start_session: StartSession, identity: StandInIdentity, test_id: str
):
    session = await start_session(refresh_grace_s=0.5)
    identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    one = session.login_of(await session.refresh(login.cookie))
    two = session.login_of(await session.refresh(one.cookie))
    await session.stream_declared()
    await asyncio.sleep(0.7)

    reused = await session.refresh(login.cookie)

    assert error_of(reused) == (401, "refresh_token_invalid")
    assert session.keys(login.user_id) == []
    assert error_of(await session.refresh(two.cookie)) == (401, "refresh_token_invalid")
    events = await session.events()
    assert [subject for subject, _ in events] == [f"t{test_id}.session.reuse_detected"]


async def test_each_token_s_window_runs_from_its_own_rotation(
    start_session: StartSession, identity: StandInIdentity
):
    session = await start_session(refresh_grace_s=0.5)
    identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    one = session.login_of(await session.refresh(login.cookie))  # retires the login's token
    await asyncio.sleep(0.7)
    two = session.login_of(await session.refresh(one.cookie))  # retires `one`, just now

    # `one` was rotated away a moment ago: inside its window. The login's token was rotated
    # away 0.7 s ago, beyond its window, although the latest rotation is recent.
    assert session.login_of(await session.refresh(one.cookie)).cookie == two.cookie
    reused = await session.refresh(login.cookie)

    assert error_of(reused) == (401, "refresh_token_invalid")
    assert session.keys(login.user_id) == []


async def test_concurrent_refreshes_with_one_cookie_all_get_the_same_successor(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    headers = {
        "x-device-id": "device-1",
        "x-app-id": "web",
        "cookie": f"tessera_rt_web={login.cookie}",
    }

    answers = await in_parallel(
        session.client,
        [lambda http: http.post("/v1/refresh-token", headers=headers) for _ in range(20)],
    )

    assert [a.status_code for a in answers] == [200] * 20
    successors = {set_cookie(a, "tessera_rt_web").value for a in answers}
    assert len(successors) == 1
    successor = successors.pop()
    assert successor != login.cookie
    assert {claims_of(a.json()["access_token"])["sid"] for a in answers} == {login.sid}
    family = session.family(login.user_id, login.sid)
    assert family["current"] == digest(successor)
    assert family["previous"] == digest(login.cookie)
    assert (await session.refresh(successor)).status_code == 200


async def test_a_cookie_of_another_app_is_useless_and_nothing_rotates(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME, app="web")

    under_its_own_name = await session.refresh(
        login.cookie, app="mobile", cookie_name="tessera_rt_web"
    )
    under_the_other_name = await session.refresh(login.cookie, app="mobile")

    assert error_of(under_its_own_name) == (401, "refresh_token_invalid")
    assert error_of(under_the_other_name) == (401, "refresh_token_invalid")
    family = session.family(login.user_id, login.sid)
    assert (family["current"], family["previous"]) == (digest(login.cookie), "")
    assert (await session.refresh(login.cookie, app="web")).status_code == 200


async def test_another_device_cannot_refresh_and_nothing_rotates(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME, device="device-1")

    answer = await session.refresh(login.cookie, device="device-2")

    assert error_of(answer) == (401, "refresh_token_invalid")
    family = session.family(login.user_id, login.sid)
    assert (family["current"], family["previous"]) == (digest(login.cookie), "")
    assert session.family_ttl(login.user_id, login.sid) > 0
    assert (await session.refresh(login.cookie, device="device-1")).status_code == 200


async def test_a_forged_cookie_for_a_real_family_is_refused_without_revoking_it(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    forged = f"{login.user_id}.{login.sid}.{secrets.token_urlsafe(32)}"

    answer = await session.refresh(forged)

    assert error_of(answer) == (401, "refresh_token_invalid")
    family = session.family(login.user_id, login.sid)
    assert (family["current"], family["previous"]) == (digest(login.cookie), "")
    assert (await session.refresh(login.cookie)).status_code == 200


@pytest.mark.parametrize(
    "cookie", [None, "", "garbage", "a.b.c", "x" * 500, "00000000-0000-0000-0000-000000000000"]
)
async def test_a_missing_or_malformed_cookie_is_refused(session, cookie):
    answer = await session.refresh(cookie)

    assert error_of(answer) == (401, "refresh_token_invalid")
    assert "set-cookie" not in answer.headers


async def test_a_refresh_in_the_last_second_of_the_absolute_lifetime_gives_no_dead_session(
    start_session: StartSession, identity: StandInIdentity
):
    session = await start_session(refresh_absolute_ttl_s=1)
    identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    await asyncio.sleep(0.3)

    answer = await session.refresh(login.cookie)

    # Either the family has ended (401) or the answer carries a session that works.
    if answer.status_code == 200:
        fresh = session.login_of(answer)
        assert session.family(fresh.user_id, fresh.sid) != {}, "200, but the family is gone"
        assert (await session.sessions(fresh.access_token)).status_code == 200
    else:
        assert error_of(answer) == (401, "refresh_token_invalid")
        assert session.family(login.user_id, login.sid) == {}


async def test_access_tokens_name_their_app_as_client_id_also_after_a_refresh(session):
    """RFC 9068's `client_id` is the X-App-ID the session was created for, as `aid` is."""
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME, app="ios")
    refreshed = await session.refresh(login.cookie, app="ios")
    assert refreshed.status_code == 200, refreshed.text
    auth = await session.auth_login(USERNAME, x_device_id="phone-1", x_app_id="mobile")
    auth_refreshed = session.auth_login_of(
        await session.auth_refresh(auth.refresh_token, x_device_id="phone-1", x_app_id="mobile")
    )
    tokens = {
        "authenticate": login.access_token,
        "refresh-token": session.login_of(refreshed, "ios").access_token,
        "auth/login": auth.id_token,
        "auth/login/refresh": auth_refreshed.id_token,
    }
    assert {name: claims_of(t)["client_id"] for name, t in tokens.items()} == {
        "authenticate": "ios",
        "refresh-token": "ios",
        "auth/login": "mobile",
        "auth/login/refresh": "mobile",
    }
    for token in tokens.values():
        assert claims_of(token)["client_id"] == claims_of(token)["aid"]
