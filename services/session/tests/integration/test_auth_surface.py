"""The /auth surface (guides 002/003): camelCase JSON, tokens in the body, the /v1 sessions."""

import asyncio
import secrets
from datetime import datetime

import jwt
import pytest

from .conftest import (
    LOGIN_CODE,
    PASSWORD,
    TOTP_CODE,
    USERNAME,
    Env,
    StandInIdentity,
    StartSession,
    bearer,
    claims_of,
    digest,
    error_of,
    signing_key,
)

SEND_CODE = "/internal/v1/codes/send"
USE_RECOVERY = "/internal/v1/recovery-codes/use"
PHONE = "+41791234567"


def assert_no_cookie(answer) -> None:
    assert "set-cookie" not in answer.headers
    assert answer.headers["cache-control"] == "no-store"


async def challenge_of(session: Env, email: str = USERNAME, **headers: str) -> dict:
    answer = await session.auth("login", {"email": email, "password": PASSWORD}, **headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["mfaRequired"] is True, answer.text
    assert_no_cookie(answer)
    return answer.json()


# login


async def test_login_answers_both_tokens_in_the_body_and_sets_no_cookie(session):
    user_id = session.identity.add_user(USERNAME)

    answer = await session.auth("login", {"email": USERNAME, "password": PASSWORD})

    assert_no_cookie(answer)
    login = session.auth_login_of(answer)
    assert login.user_id == user_id
    claims = claims_of(login.id_token)
    assert claims["amr"] == ["pwd"]
    assert claims["aid"] == "default"
    assert claims["did"].startswith("auto-")
    assert len(claims["did"]) == len("auto-") + 32
    family = session.family(user_id, login.sid)
    assert (family["device_id"], family["app_id"]) == (claims["did"], "default")
    assert family["current"] == digest(login.refresh_token)
    assert login.refresh_token.split(".")[2] not in session.dump()
    assert (await session.sessions(login.id_token)).status_code == 200


async def test_a_phone_number_signs_in_as_the_email_field(session):
    user_id = session.identity.add_user(PHONE)

    login = await session.auth_login(PHONE)

    assert login.user_id == user_id
    [check] = session.identity.calls_to("/internal/v1/password/verify")
    assert check.body["username"] == PHONE


async def test_headerless_logins_from_two_phones_make_two_families(session):
    user_id = session.identity.add_user(USERNAME)

    first = await session.auth_login(USERNAME)
    second = await session.auth_login(USERNAME)

    assert first.sid != second.sid
    assert first.device != second.device
    assert session.family(user_id, first.sid) != {}
    assert session.family(user_id, second.sid) != {}
    assert (await session.validate(first.id_token)).status_code == 200
    listed = (await session.sessions(second.id_token)).json()["sessions"]
    assert {s["device_id"] for s in listed} == {first.device, second.device}


async def test_login_with_device_and_app_headers_binds_and_replaces_like_v1(session):
    user_id = session.identity.add_user(USERNAME)
    v1 = await session.login(USERNAME, device="phone-1", app="mobile")

    login = await session.auth_login(USERNAME, x_device_id="phone-1", x_app_id="mobile")

    claims = claims_of(login.id_token)
    assert (claims["did"], claims["aid"]) == ("phone-1", "mobile")
    assert session.family(user_id, v1.sid) == {}
    assert session.family(user_id, login.sid)["device_id"] == "phone-1"


async def test_sign_ins_beyond_the_cap_end_the_oldest_sessions_of_the_user(
    start_session: StartSession, identity: StandInIdentity
):
    session = await start_session(max_sessions_per_user=3)
    user_id = identity.add_user(USERNAME)
    logins = []
    for _ in range(3 + 3):
        logins.append(await session.auth_login(USERNAME))
        await asyncio.sleep(0.002)  # distinct times, so "oldest" is well defined

    kept, ended = logins[3:], logins[:3]
    families = session.reader.smembers(
        f"{session.settings.redis_key_prefix}{{u:{user_id}}}:families"
    )
    assert families == {login.sid for login in kept}
    devices = [k for k in session.keys(user_id) if ":dev:" in k]
    assert sorted(d.rsplit(":dev:", 1)[1] for d in devices) == sorted(
        f"{login.device}:default" for login in kept
    )
    for login in ended:
        assert session.family(user_id, login.sid) == {}
        assert error_of(await session.auth_refresh(login.refresh_token)) == (
            401,
            "refresh_token_invalid",
        )
        assert error_of(await session.validate(login.id_token)) == (401, "token_invalid")
    for login in kept:
        assert (await session.auth_refresh(login.refresh_token)).status_code == 200


async def test_the_cap_holds_under_concurrent_sign_ins(
    start_session: StartSession, identity: StandInIdentity
):
    session = await start_session(max_sessions_per_user=3)
    user_id = identity.add_user(USERNAME)

    answers = await asyncio.gather(
        *(session.auth("login", {"email": USERNAME, "password": PASSWORD}) for _ in range(20))
    )

    assert [a.status_code for a in answers] == [200] * 20
    prefix = f"{session.settings.redis_key_prefix}{{u:{user_id}}}"
    assert session.reader.scard(f"{prefix}:families") == 3
    assert len([k for k in session.keys(user_id) if ":fam:" in k]) == 3
    assert len([k for k in session.keys(user_id) if ":dev:" in k]) == 3


async def test_a_session_in_use_outlives_newer_idle_ones_at_the_cap(
    start_session: StartSession, identity: StandInIdentity
):
    session = await start_session(max_sessions_per_user=2)
    user_id = identity.add_user(USERNAME)
    first = await session.auth_login(USERNAME)
    await asyncio.sleep(0.002)
    second = await session.auth_login(USERNAME)
    await asyncio.sleep(0.002)
    used = session.auth_login_of(await session.auth_refresh(first.refresh_token))
    await asyncio.sleep(0.002)

    third = await session.auth_login(USERNAME)

    assert session.family(user_id, second.sid) == {}
    assert session.family(user_id, first.sid) != {}
    assert session.family(user_id, third.sid) != {}
    assert (await session.auth_refresh(used.refresh_token)).status_code == 200


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"x_device_id": "bad device"}, "device_id_required"),
        ({"x_app_id": "a b"}, "app_id_invalid"),
    ],
)
async def test_a_device_or_app_header_that_is_sent_must_be_valid(session, headers, code):
    session.identity.add_user(USERNAME)

    answer = await session.auth("login", {"email": USERNAME, "password": PASSWORD}, **headers)

    assert error_of(answer) == (400, code)
    assert session.identity.calls == []


async def test_a_wrong_password_is_refused_with_invalid_credentials(session):
    session.identity.add_user(USERNAME)

    answer = await session.auth("login", {"email": USERNAME, "password": "wrong"})

    assert error_of(answer) == (401, "invalid_credentials")
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("login", {"username": USERNAME, "password": "x"}, "email"),
        ("login/refresh", {"refresh_token": "x"}, "refreshToken"),
        ("recover-mfa", {"challengeToken": "x", "recovery_code": "x"}, "recoveryCode"),
        ("verify-mfa", {"challengeToken": "x", "otp": ""}, "otp"),
    ],
)
async def test_bodies_are_camel_case_and_a_missing_field_is_named_so(session, path, body, field):
    answer = await session.auth(path, body)

    assert error_of(answer) == (422, "validation_failed")
    [detail] = answer.json()["details"]
    assert detail["field"] == field
    assert session.identity.calls == []


# refresh


async def test_login_refresh_rotates_the_body_token_and_keeps_the_session(session):
    session.identity.add_user(USERNAME)
    login = await session.auth_login(USERNAME)

    first = await session.auth_refresh(login.refresh_token)
    assert_no_cookie(first)
    one = session.auth_login_of(first)
    two = session.auth_login_of(await session.auth_refresh(one.refresh_token))

    assert len({login.refresh_token, one.refresh_token, two.refresh_token}) == 3
    assert {one.sid, two.sid} == {login.sid}
    assert {one.device, two.device} == {login.device}
    assert claims_of(two.id_token)["amr"] == ["pwd"]
    family = session.family(login.user_id, login.sid)
    assert (family["current"], family["previous"]) == (
        digest(two.refresh_token),
        digest(one.refresh_token),
    )
    assert (await session.validate(two.id_token)).status_code == 200


async def test_a_body_refresh_token_replayed_after_rotation_revokes_the_family(
    start_session: StartSession, identity: StandInIdentity, test_id: str
):
    session = await start_session(refresh_grace_s=0)
    identity.add_user(USERNAME)
    login = await session.auth_login(USERNAME)
    newest = session.auth_login_of(await session.auth_refresh(login.refresh_token))
    await session.stream_declared()
    await asyncio.sleep(0.01)

    replayed = await session.auth_refresh(login.refresh_token)

    assert error_of(replayed) == (401, "refresh_token_invalid")
    assert session.family(login.user_id, login.sid) == {}
    assert session.keys(login.user_id) == []
    assert error_of(await session.auth_refresh(newest.refresh_token)) == (
        401,
        "refresh_token_invalid",
    )
    assert error_of(await session.validate(newest.id_token)) == (401, "token_invalid")
    events = await session.events()
    assert [subject for subject, _ in events] == [f"t{test_id}.session.reuse_detected"]
    event = events[0][1]
    assert (event["user_id"], event["family_id"]) == (login.user_id, login.sid)
    assert (event["device_id"], event["app_id"]) == (login.device, "default")


async def test_a_forged_refresh_token_is_refused_without_revoking_the_family(session):
    session.identity.add_user(USERNAME)
    login = await session.auth_login(USERNAME)
    forged = f"{login.user_id}.{login.sid}.{secrets.token_urlsafe(32)}"

    for token in (forged, "", "garbage", "x" * 500):
        assert error_of(await session.auth_refresh(token)) == (401, "refresh_token_invalid")

    family = session.family(login.user_id, login.sid)
    assert (family["current"], family["previous"]) == (digest(login.refresh_token), "")
    assert (await session.auth_refresh(login.refresh_token)).status_code == 200


async def test_a_refresh_with_headers_must_name_the_familys_device_and_app(session):
    session.identity.add_user(USERNAME)
    login = await session.auth_login(USERNAME, x_device_id="phone-1", x_app_id="mobile")

    other_device = await session.auth_refresh(
        login.refresh_token, x_device_id="phone-2", x_app_id="mobile"
    )
    other_app = await session.auth_refresh(login.refresh_token, x_device_id="phone-1")
    no_app = await session.auth_refresh(login.refresh_token)
    malformed = await session.auth_refresh(login.refresh_token, x_device_id="phone 1")

    for answer in (other_device, other_app, no_app):
        assert error_of(answer) == (401, "refresh_token_invalid")
    assert error_of(malformed) == (400, "device_id_required")
    family = session.family(login.user_id, login.sid)
    assert (family["current"], family["previous"]) == (digest(login.refresh_token), "")
    same = session.auth_login_of(
        await session.auth_refresh(login.refresh_token, x_device_id="phone-1", x_app_id="mobile")
    )
    without_device = session.auth_login_of(
        await session.auth_refresh(same.refresh_token, x_app_id="mobile")
    )
    assert claims_of(without_device.id_token)["did"] == "phone-1"


async def test_an_auth_refresh_token_is_no_v1_cookie_and_a_challenge_is_no_refresh_token(session):
    session.identity.add_user(USERNAME)
    session.identity.add_user("mfa@example.com", mfa_mode="totp")
    login = await session.auth_login(USERNAME, x_device_id="device-1", x_app_id="web")
    challenge = (await challenge_of(session, "mfa@example.com"))["challengeToken"]

    assert error_of(await session.auth_refresh(challenge)) == (401, "refresh_token_invalid")
    # The cookie route keeps requiring X-Device-ID, whatever the token.
    answer = await session.client.post(
        "/v1/refresh-token", headers={"cookie": f"tessera_rt_web={login.refresh_token}"}
    )
    assert error_of(answer) == (400, "device_id_required")


# second factor


@pytest.mark.parametrize("mfa_mode", ["email", "sms"])
async def test_login_with_mfa_gives_a_challenge_and_verify_mfa_gives_the_tokens(session, mfa_mode):
    user_id = session.identity.add_user(USERNAME, mfa_mode=mfa_mode)

    step = await challenge_of(session)

    assert set(step) == {"mfaRequired", "mfaMode", "challengeToken", "userId"}
    assert (step["mfaMode"], step["userId"]) == (mfa_mode, user_id)
    assert len(session.identity.calls_to(SEND_CODE)) == 1
    device = claims_of(step["challengeToken"])["did"]
    assert device.startswith("auto-")

    answer = await session.auth(
        "verify-mfa", {"challengeToken": step["challengeToken"], "otp": LOGIN_CODE}
    )

    assert_no_cookie(answer)
    login = session.auth_login_of(answer)
    claims = claims_of(login.id_token)
    assert claims["amr"] == ["pwd", "otp"]
    assert (claims["did"], claims["aid"]) == (device, "default")
    assert session.family(user_id, login.sid)["device_id"] == device
    assert session.challenge_state(step["challengeToken"]) == {}
    again = await session.auth(
        "verify-mfa", {"challengeToken": step["challengeToken"], "otp": LOGIN_CODE}
    )
    assert error_of(again) == (401, "challenge_invalid")
    refreshed = session.auth_login_of(await session.auth_refresh(login.refresh_token))
    assert claims_of(refreshed.id_token)["amr"] == ["pwd", "otp"]


async def test_verify_mfa_takes_the_challenge_from_the_header_and_binds_a_sent_device(session):
    session.identity.add_user(USERNAME, mfa_mode="totp")
    step = await challenge_of(session, x_device_id="phone-1", x_app_id="mobile")
    token = step["challengeToken"]

    other_device = await session.auth(
        "verify-mfa",
        {"otp": TOTP_CODE},
        x_mfa_challenge=token,
        x_device_id="phone-2",
        x_app_id="mobile",
    )
    other_app = await session.auth(
        "verify-mfa", {"otp": TOTP_CODE}, x_mfa_challenge=token, x_device_id="phone-1"
    )
    for answer in (other_device, other_app):
        assert error_of(answer) == (401, "challenge_invalid")
    assert session.challenge_state(token) == {"wrong": "0", "pending": "0"}

    answer = await session.auth(
        "verify-mfa", {"otp": TOTP_CODE}, x_mfa_challenge=token, x_app_id="mobile"
    )

    login = session.auth_login_of(answer)
    claims = claims_of(login.id_token)
    assert (claims["did"], claims["aid"], claims["amr"]) == ("phone-1", "mobile", ["pwd", "totp"])


async def test_verify_mfa_needs_one_challenge_and_keeps_the_attempt_rules(session):
    session.identity.add_user(USERNAME, mfa_mode="email")
    token = (await challenge_of(session))["challengeToken"]
    other = (await challenge_of(session))["challengeToken"]

    missing = await session.auth("verify-mfa", {"otp": LOGIN_CODE})
    both = await session.auth(
        "verify-mfa", {"challengeToken": token, "otp": LOGIN_CODE}, x_mfa_challenge=other
    )
    no_otp = await session.auth("verify-mfa", {"challengeToken": token})
    wrong = await session.auth("verify-mfa", {"challengeToken": token, "otp": "000000"})

    assert error_of(missing) == (401, "unauthorized")
    assert error_of(both) == (422, "validation_failed")
    assert both.json()["details"][0]["field"] == "challengeToken"
    assert error_of(no_otp) == (422, "validation_failed")
    assert no_otp.json()["details"][0]["field"] == "otp"
    assert error_of(wrong) == (400, "otp_invalid")
    assert session.challenge_state(token) == {"wrong": "1", "pending": "0"}
    for _ in range(4):
        await session.auth("verify-mfa", {"challengeToken": token, "otp": "000000"})
    exhausted = await session.auth("verify-mfa", {"challengeToken": token, "otp": LOGIN_CODE})
    assert error_of(exhausted) == (401, "challenge_invalid")
    assert session.challenge_state(token) == {}


async def test_require_totp_says_so_in_camel_case(start_session: StartSession, identity):
    session = await start_session(require_totp=True)
    identity.add_user(USERNAME)

    step = await challenge_of(session)

    assert step["mfaMode"] == "totp"
    assert step["totpSetupRequired"] is True
    assert identity.calls_to(SEND_CODE) == []


async def test_recover_mfa_spends_the_code_turns_mfa_off_and_gives_tokens(session):
    user_id = session.identity.add_user(USERNAME, mfa_mode="totp")
    session.identity.give_recovery_codes(user_id, "abcd-efgh-ijkl")
    token = (await challenge_of(session))["challengeToken"]

    answer = await session.auth(
        "recover-mfa", {"challengeToken": token, "recoveryCode": "abcd-efgh-ijkl"}
    )

    assert_no_cookie(answer)
    login = session.auth_login_of(answer)
    assert claims_of(login.id_token)["amr"] == ["pwd", "recovery"]
    [use] = session.identity.calls_to(USE_RECOVERY)
    assert use.body == {
        "user_id": user_id,
        "code": "abcd-efgh-ijkl",
        "client_ip": "",
        "disable_mfa": True,
    }
    assert session.identity.mfa_turned_off == [user_id]
    assert session.challenge_state(token) == {}
    # MFA is off now: the next sign-in gives the tokens at once.
    assert claims_of((await session.auth_login(USERNAME)).id_token)["amr"] == ["pwd"]


async def test_a_wrong_recovery_code_is_refused_and_leaves_mfa_on(session):
    user_id = session.identity.add_user(USERNAME, mfa_mode="sms")
    session.identity.give_recovery_codes(user_id, "abcd-efgh-ijkl")
    token = (await challenge_of(session))["challengeToken"]

    answer = await session.auth(
        "recover-mfa", {"recoveryCode": "wrong-code"}, x_mfa_challenge=token
    )

    assert error_of(answer) == (400, "recovery_code_invalid")
    assert session.identity.mfa_turned_off == []
    assert session.challenge_state(token) == {"wrong": "1", "pending": "0"}


# logout and validate-session


@pytest.mark.parametrize(
    ("body", "language", "message"),
    [
        (None, "en", "Logged out successfully"),
        ({"refreshToken": "ignored"}, "fr", "Déconnexion réussie"),
    ],
)
async def test_logout_ends_the_session_and_validate_session_then_refuses(
    session, body, language, message
):
    session.identity.add_user(USERNAME)
    login = await session.auth_login(USERNAME)

    answer = await session.auth(
        "logout", body, authorization=f"Bearer {login.id_token}", accept_language=language
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": 200, "message": message}
    assert_no_cookie(answer)
    assert session.keys(login.user_id) == []
    assert error_of(await session.validate(login.id_token)) == (401, "token_invalid")
    assert error_of(await session.auth_refresh(login.refresh_token)) == (
        401,
        "refresh_token_invalid",
    )
    again = await session.auth("logout", authorization=f"Bearer {login.id_token}")
    assert error_of(again) == (401, "token_invalid")


async def test_validate_session_describes_a_live_session(session):
    user_id = session.identity.add_user(USERNAME)
    login = await session.auth_login(USERNAME)

    answer = await session.validate(login.id_token)

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"valid", "userId", "sessionId", "expiresAt", "amr"}
    assert (body["valid"], body["userId"], body["sessionId"]) == (True, user_id, login.sid)
    assert body["amr"] == ["pwd"]
    expires = datetime.fromisoformat(body["expiresAt"])
    assert expires.utcoffset() is not None
    assert int(expires.timestamp()) == claims_of(login.id_token)["exp"]


async def test_validate_session_refuses_anything_but_a_live_access_token(session):
    session.identity.add_user("mfa@example.com", mfa_mode="totp")
    challenge = (await challenge_of(session, "mfa@example.com"))["challengeToken"]

    for token in (challenge, "garbage"):
        assert error_of(await session.validate(token)) == (401, "token_invalid")
    no_header = await session.client.get("/auth/validate-session")
    assert error_of(no_header) == (401, "unauthorized")


@pytest.mark.parametrize(
    ("claims", "header"),
    [
        ({"exp": 10**30}, {}),
        ({"exp": 253_402_300_800}, {}),
        ({"iat": -1}, {}),
        ({"nbf": -(10**30)}, {}),
        ({}, {"crit": ["exp"]}),
        ({}, {"crit": ["b64"], "b64": True}),
    ],
    ids=["exp-1e30", "exp-after-9999", "iat-negative", "nbf-huge-negative", "crit", "crit-b64"],
)
async def test_validate_session_refuses_absurd_times_and_critical_headers_with_a_401(
    session, claims, header
):
    session.identity.add_user(USERNAME)
    login = await session.auth_login(USERNAME)
    kid, private = signing_key(session.keys_dir)
    real = claims_of(login.id_token)
    headers = {"typ": "at+jwt", "kid": kid}
    control = jwt.encode(real, private, algorithm="EdDSA", headers=headers)
    assert (await session.validate(control)).status_code == 200

    forged = jwt.encode({**real, **claims}, private, "EdDSA", headers={**headers, **header})

    answer = await session.validate(forged)
    assert error_of(answer) == (401, "token_invalid")
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert session.family(login.user_id, login.sid)["current"] == digest(login.refresh_token)


async def test_v1_tokens_work_on_the_auth_surface_and_back(session):
    session.identity.add_user(USERNAME)
    v1 = await session.login(USERNAME)
    native = await session.auth_login(USERNAME)

    assert (await session.validate(v1.access_token)).status_code == 200
    assert (await session.sessions(native.id_token)).status_code == 200
    ended = await session.client.post("/v1/logout", headers=bearer(native.id_token))
    assert ended.status_code == 200
    assert error_of(await session.validate(native.id_token)) == (401, "token_invalid")


async def test_the_openapi_document_names_the_camel_case_fields(session):
    document = (await session.client.get("/schema/openapi.json")).json()

    schemas = document["components"]["schemas"]
    assert set(schemas["AuthTokens"]["properties"]) == {"idToken", "refreshToken"}
    assert set(schemas["AuthMfaStep"]["required"]) == {"mfaMode", "challengeToken", "userId"}
    assert set(schemas["AuthSessionState"]["properties"]) == {
        "valid",
        "userId",
        "sessionId",
        "expiresAt",
        "amr",
    }
    assert {
        "/auth/login",
        "/auth/login/refresh",
        "/auth/verify-mfa",
        "/auth/recover-mfa",
        "/auth/logout",
        "/auth/validate-session",
    } <= set(document["paths"])
