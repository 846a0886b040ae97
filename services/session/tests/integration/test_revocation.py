"""POST /internal/v1/sessions/revoke: identity ends a user's sessions after a password change."""

import asyncio
import uuid

import httpx

from tessera_shared.testing.parallel import in_parallel

from .conftest import INTERNAL, PASSWORD, TOTP_CODE, USERNAME, bearer, error_of

REVOKE = "/internal/v1/sessions/revoke"


async def test_revocation_needs_the_internal_token(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)

    for headers in ({}, {"x-internal-token": "wrong"}):
        answer = await session.client.post(REVOKE, json={"user_id": login.user_id}, headers=headers)
        assert error_of(answer) == (401, "unauthorized")

    assert session.family(login.user_id, login.sid) != {}
    assert (await session.sessions(login.access_token)).status_code == 200


async def test_revocation_ends_every_session_but_the_kept_one_and_counts_them(session):
    session.identity.add_user(USERNAME)
    laptop = await session.login(USERNAME, device="laptop", app="web")
    phone = await session.login(USERNAME, device="phone", app="mobile")
    native = await session.auth_login(USERNAME)
    prefix = f"{session.settings.redis_key_prefix}{{u:{laptop.user_id}}}"

    answer = await session.client.post(
        REVOKE, json={"user_id": laptop.user_id, "keep_session": laptop.sid}, headers=INTERNAL
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"revoked": 2}
    assert session.keys(laptop.user_id) == sorted(
        [f"{prefix}:dev:laptop:web", f"{prefix}:fam:{laptop.sid}", f"{prefix}:families"]
    )
    assert session.reader.smembers(f"{prefix}:families") == {laptop.sid}
    for token in (phone.access_token, native.id_token):
        assert error_of(await session.sessions(token)) == (401, "token_invalid")
    assert error_of(await session.refresh(phone.cookie, device="phone", app="mobile")) == (
        401,
        "refresh_token_invalid",
    )
    assert error_of(await session.auth_refresh(native.refresh_token)) == (
        401,
        "refresh_token_invalid",
    )
    kept = await session.sessions(laptop.access_token)
    assert [s["id"] for s in kept.json()["sessions"]] == [laptop.sid]
    assert (await session.refresh(laptop.cookie, device="laptop", app="web")).status_code == 200


async def test_revocation_without_a_kept_session_ends_them_all_and_then_finds_none(session):
    session.identity.add_user(USERNAME)
    one = await session.login(USERNAME, device="device-1")
    two = await session.login(USERNAME, device="device-2")

    first = await session.client.post(REVOKE, json={"user_id": one.user_id}, headers=INTERNAL)
    second = await session.client.post(
        REVOKE, json={"user_id": one.user_id, "keep_session": None}, headers=INTERNAL
    )

    assert (first.json(), second.json()) == ({"revoked": 2}, {"revoked": 0})
    assert session.keys(one.user_id) == []
    for token in (one.access_token, two.access_token):
        assert error_of(await session.sessions(token)) == (401, "token_invalid")


async def test_revocation_touches_no_other_user_and_an_unknown_kept_session_keeps_nothing(session):
    session.identity.add_user(USERNAME)
    session.identity.add_user("mallory@example.com")
    jane = await session.login(USERNAME)
    mallory = await session.login("mallory@example.com")

    answer = await session.client.post(
        REVOKE, json={"user_id": jane.user_id, "keep_session": mallory.sid}, headers=INTERNAL
    )

    assert answer.json() == {"revoked": 1}
    assert session.keys(jane.user_id) == []
    assert (await session.sessions(mallory.access_token)).status_code == 200


async def test_revocation_of_a_user_without_sessions_or_with_a_bad_body(session):
    nobody = await session.client.post(
        REVOKE, json={"user_id": str(uuid.uuid4())}, headers=INTERNAL
    )
    malformed = await session.client.post(REVOKE, json={"user_id": "nope"}, headers=INTERNAL)

    assert (nobody.status_code, nobody.json()) == (200, {"revoked": 0})
    assert error_of(malformed) == (422, "validation_failed")


async def test_an_expired_family_left_in_the_set_is_not_counted(session):
    session.identity.add_user(USERNAME)
    gone = await session.login(USERNAME, device="device-1")
    live = await session.login(USERNAME, device="device-2")
    tag = f"{session.settings.redis_key_prefix}{{u:{gone.user_id}}}"
    session.reader.delete(f"{tag}:fam:{gone.sid}", f"{tag}:dev:device-1:web")  # as TTLs would

    answer = await session.client.post(REVOKE, json={"user_id": gone.user_id}, headers=INTERNAL)

    assert answer.json() == {"revoked": 1}
    assert session.keys(gone.user_id) == []
    assert error_of(await session.sessions(live.access_token)) == (401, "token_invalid")


# ending every session also ends the open MFA challenges (issue 14, 11b)


async def test_revocation_closes_open_mfa_challenges_so_they_cannot_complete(session):
    user_id = session.identity.add_user("mfa@example.com", mfa_mode="totp")
    laptop = await session.challenge("mfa@example.com", device="laptop")
    phone = await session.challenge("mfa@example.com", device="phone")
    assert session.challenge_state(laptop) != {}

    answer = await session.client.post(REVOKE, json={"user_id": user_id}, headers=INTERNAL)

    assert answer.status_code == 200, answer.text
    assert session.challenge_state(laptop) == {}
    assert session.challenge_state(phone) == {}
    refused = await session.verify_2fa(laptop, {"otp": TOTP_CODE}, device="laptop")
    assert error_of(refused) == (401, "challenge_invalid")
    assert session.keys(user_id) == []
    # A challenge opened after the revocation works as usual.
    later = await session.challenge("mfa@example.com", device="laptop")
    assert (await session.verify_2fa(later, {"otp": TOTP_CODE}, device="laptop")).status_code == 200


async def test_revocation_keeping_a_session_still_closes_the_open_challenges(session):
    session.identity.add_user(USERNAME)
    kept = await session.login(USERNAME, device="laptop")
    user_id = kept.user_id
    session.identity.set_mfa_mode(USERNAME, "totp")
    pending = await session.challenge(USERNAME, device="phone")

    answer = await session.client.post(
        REVOKE, json={"user_id": user_id, "keep_session": kept.sid}, headers=INTERNAL
    )

    assert answer.json() == {"revoked": 0}
    refused = await session.verify_2fa(pending, {"otp": TOTP_CODE}, device="phone")
    assert error_of(refused) == (401, "challenge_invalid")
    assert [s["id"] for s in (await session.sessions(kept.access_token)).json()["sessions"]] == [
        kept.sid
    ]


async def test_logout_all_closes_open_mfa_challenges(session):
    session.identity.add_user(USERNAME)
    signed_in = await session.login(USERNAME, device="laptop")
    session.identity.set_mfa_mode(USERNAME, "totp")
    pending = await session.challenge(USERNAME, device="phone")

    ended = await session.client.post("/v1/logout-all", headers=bearer(signed_in.access_token))

    assert ended.status_code == 200, ended.text
    refused = await session.verify_2fa(pending, {"otp": TOTP_CODE}, device="phone")
    assert error_of(refused) == (401, "challenge_invalid")
    assert session.keys(signed_in.user_id) == []


async def test_a_sign_in_checked_before_a_password_reset_does_not_become_a_session(session):
    user_id = session.identity.add_user(USERNAME)  # its password has credential version 0
    session.identity.password_delay_s = 0.5

    async def sign_in(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post(
            "/v1/authenticate",
            json={"username": USERNAME, "password": PASSWORD},
            headers={"x-device-id": "device-1", "x-app-id": "web"},
        )

    async def reset(http: httpx.AsyncClient) -> httpx.Response:
        await asyncio.sleep(0.2)  # the password was checked; its answer is on the way
        body = {"user_id": user_id, "credential_version": 1}
        return await http.post(REVOKE, json=body, headers=INTERNAL)

    signed_in, revoked = await in_parallel(session.client, [sign_in, reset])

    assert revoked.status_code == 200, revoked.text
    assert error_of(signed_in) == (401, "invalid_credentials")
    assert [k for k in session.keys(user_id) if ":fam:" in k or ":dev:" in k] == []
    session.identity.password_delay_s = 0.0
    stale = await session.authenticate(USERNAME)  # identity still answers the old version
    assert error_of(stale) == (401, "invalid_credentials")


async def test_a_sign_in_with_the_new_password_after_a_reset_starts_a_session(session):
    user_id = session.identity.add_user(USERNAME)
    first = await session.client.post(
        REVOKE, json={"user_id": user_id, "credential_version": 2}, headers=INTERNAL
    )
    assert first.status_code == 200
    session.identity.set_credential_version(USERNAME, 2)
    login = await session.login(USERNAME)
    assert session.family(user_id, login.sid) != {}
    older = await session.client.post(  # a late revocation never lowers the floor
        REVOKE, json={"user_id": user_id, "credential_version": 1}, headers=INTERNAL
    )
    assert older.status_code == 200
    assert (await session.authenticate(USERNAME, device="device-2")).status_code == 200


async def test_an_mfa_sign_in_checked_before_a_password_reset_gets_no_challenge(session):
    user_id = session.identity.add_user(USERNAME, mfa_mode="email")
    session.identity.password_delay_s = 0.5

    async def sign_in(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post(
            "/v1/authenticate",
            json={"username": USERNAME, "password": PASSWORD},
            headers={"x-device-id": "device-1", "x-app-id": "web"},
        )

    async def reset(http: httpx.AsyncClient) -> httpx.Response:
        await asyncio.sleep(0.2)
        body = {"user_id": user_id, "credential_version": 1}
        return await http.post(REVOKE, json=body, headers=INTERNAL)

    signed_in, revoked = await in_parallel(session.client, [sign_in, reset])

    assert revoked.status_code == 200
    assert error_of(signed_in) == (401, "invalid_credentials")
    assert session.identity.calls_to("/internal/v1/codes/send") == []  # no code for it


async def test_an_erasure_revocation_after_the_floor_was_raised_leaves_no_key_of_the_user(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME, device="laptop", app="web")
    raised = {"user_id": login.user_id, "credential_version": 7}
    purge = {"user_id": login.user_id, "purge": True}

    first = await session.client.post(REVOKE, json=raised, headers=INTERNAL)
    floor_left = session.keys(login.user_id)
    second = await session.client.post(REVOKE, json=purge, headers=INTERNAL)

    assert (first.json(), second.json()) == ({"revoked": 1}, {"revoked": 0})
    assert floor_left == [f"{session.settings.redis_key_prefix}{{u:{login.user_id}}}:cv"]
    assert session.keys(login.user_id) == []


async def test_the_session_list_for_identity_shows_each_live_session_oldest_first(session):
    session.identity.add_user(USERNAME)
    laptop = await session.login(USERNAME, device="laptop", app="web")
    phone = await session.login(USERNAME, device="phone", app="mobile")
    stranger = {"user_id": str(uuid.uuid4())}

    answer = await session.client.post(
        "/internal/v1/sessions/list", json={"user_id": laptop.user_id}, headers=INTERNAL
    )
    nobody = await session.client.post(
        "/internal/v1/sessions/list", json=stranger, headers=INTERNAL
    )
    refused = await session.client.post(
        "/internal/v1/sessions/list", json={"user_id": laptop.user_id}
    )

    assert answer.status_code == 200, answer.text
    found = answer.json()["sessions"]
    assert sorted((s["id"], s["device_id"], s["app_id"]) for s in found) == sorted(
        [(laptop.sid, "laptop", "web"), (phone.sid, "phone", "mobile")]
    )
    assert found[0]["created_at"] <= found[1]["created_at"]  # the same millisecond may tie
    assert nobody.json() == {"sessions": []}
    assert error_of(refused) == (401, "unauthorized")
