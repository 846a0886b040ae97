"""The MFA login step: /v1/verify-2FA turns a challenge and its second factor into a session."""

import asyncio
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_shared.testing.parallel import in_parallel

from .conftest import (
    INTERNAL,
    LOGIN_CODE,
    TOTP_CODE,
    USERNAME,
    Env,
    StandInIdentity,
    StartSession,
    bearer,
    claims_of,
    digest,
    error_of,
    set_cookie,
    signing_key,
)

VERIFY_CODE = "/internal/v1/codes/verify"
VERIFY_TOTP = "/internal/v1/totp/verify"
USE_RECOVERY = "/internal/v1/recovery-codes/use"
SEND_CODE = "/internal/v1/codes/send"
CHECKS = (VERIFY_CODE, VERIFY_TOTP, USE_RECOVERY)
WRONG = "000000"


def checks_made(identity: StandInIdentity) -> int:
    """How often identity was asked to check a second factor."""
    return sum(len(identity.calls_to(path)) for path in CHECKS)


def sign_like(session: Env, challenge: str, **changes: Any) -> str:
    """The challenge token re-signed with the app's own key, with `changes` to its claims."""
    kid, private = signing_key(session.keys_dir)
    claims = {**claims_of(challenge), **changes}
    headers = {"kid": kid, "typ": "mfa-challenge+jwt"}
    return jwt.encode(claims, private, algorithm="EdDSA", headers=headers)


# completing the sign-in


@pytest.mark.parametrize("mfa_mode", ["email", "sms"])
async def test_an_emailed_or_texted_code_completes_the_sign_in_with_tokens_and_a_cookie(
    session, mfa_mode
):
    user_id = session.identity.add_user(USERNAME, mfa_mode=mfa_mode)
    challenge = await session.challenge(USERNAME, device="device-1", app="web")

    answer = await session.verify_2fa(challenge, {"otp": LOGIN_CODE})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "user_id"}
    assert (body["expires_in"], body["user_id"]) == (899, user_id)
    assert answer.headers["cache-control"] == "no-store"
    cookie = set_cookie(answer, "tessera_rt_web")
    assert cookie is not None
    assert (cookie["httponly"], cookie["secure"], cookie["path"]) == (
        True,
        True,
        "/v1/refresh-token",
    )
    claims = claims_of(body["access_token"])
    assert claims["amr"] == ["pwd", "otp"]
    assert (claims["sub"], claims["did"], claims["aid"]) == (user_id, "device-1", "web")
    assert claims["client_id"] == "web"
    login = session.login_of(answer)
    assert session.family(user_id, login.sid)["amr"] == "pwd otp"
    assert session.family(user_id, login.sid)["current"] == digest(login.cookie)
    assert session.challenge_state(challenge) == {}
    [check] = session.identity.calls_to(VERIFY_CODE)
    assert check.body == {"user_id": user_id, "otp": LOGIN_CODE}
    refreshed = await session.refresh(login.cookie)
    assert refreshed.status_code == 200
    assert claims_of(refreshed.json()["access_token"])["amr"] == ["pwd", "otp"]
    assert (await session.sessions(body["access_token"])).status_code == 200


async def test_a_totp_code_is_checked_as_totp_and_gives_amr_totp(session):
    user_id = session.identity.add_user(USERNAME, mfa_mode="totp")
    challenge = await session.challenge(USERNAME)

    answer = await session.verify_2fa(challenge, {"otp": TOTP_CODE})

    assert answer.status_code == 200, answer.text
    assert claims_of(answer.json()["access_token"])["amr"] == ["pwd", "totp"]
    assert set_cookie(answer, "tessera_rt_web") is not None
    [check] = session.identity.calls_to(VERIFY_TOTP)
    assert check.body == {"user_id": user_id, "otp": TOTP_CODE}
    assert session.identity.calls_to(VERIFY_CODE) == []
    assert session.identity.calls_to(SEND_CODE) == []


@pytest.mark.parametrize("mfa_mode", ["email", "totp"])
async def test_a_recovery_code_completes_the_sign_in_once_and_is_refused_the_second_time(
    session, mfa_mode
):
    user_id = session.identity.add_user(USERNAME, mfa_mode=mfa_mode)
    session.identity.give_recovery_codes(user_id, "abcd-efgh-ijkl")
    first = await session.challenge(USERNAME)

    answer = await session.verify_2fa(first, {"recovery_code": "abcd-efgh-ijkl"})

    assert answer.status_code == 200, answer.text
    assert claims_of(answer.json()["access_token"])["amr"] == ["pwd", "recovery"]
    [use] = session.identity.calls_to(USE_RECOVERY)
    assert use.body == {
        "user_id": user_id,
        "code": "abcd-efgh-ijkl",
        "client_ip": "",
        "disable_mfa": False,
    }
    assert session.identity.calls_to(VERIFY_CODE) == session.identity.calls_to(VERIFY_TOTP) == []

    second = await session.challenge(USERNAME)
    again = await session.verify_2fa(second, {"recovery_code": "abcd-efgh-ijkl"})

    assert error_of(again) == (400, "recovery_code_invalid")
    assert again.json()["message"] == "This recovery code is not valid or has already been used."
    assert set_cookie(again, "tessera_rt_web") is None
    assert session.challenge_state(second) == {"wrong": "1", "pending": "0"}


# wrong codes and the attempt limit


async def test_a_wrong_code_passes_on_otp_invalid_and_spends_one_attempt(session):
    session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)

    answer = await session.verify_2fa(challenge, {"otp": WRONG})

    assert error_of(answer) == (400, "otp_invalid")
    assert "access_token" not in answer.json()
    assert set_cookie(answer, "tessera_rt_web") is None
    assert session.challenge_state(challenge) == {"wrong": "1", "pending": "0"}
    assert 290 < session.reader.ttl(session.challenge_key(challenge)) <= 300
    right = await session.verify_2fa(challenge, {"otp": LOGIN_CODE})
    assert right.status_code == 200, right.text


async def test_after_five_wrong_codes_even_the_right_code_is_refused_and_the_challenge_is_gone(
    session,
):
    session.identity.add_user(USERNAME, mfa_mode="sms")
    challenge = await session.challenge(USERNAME)

    for attempt in range(1, 5):
        answer = await session.verify_2fa(challenge, {"otp": WRONG})
        assert error_of(answer) == (400, "otp_invalid")
        assert session.challenge_state(challenge) == {"wrong": str(attempt), "pending": "0"}
    fifth = await session.verify_2fa(challenge, {"otp": WRONG})
    right = await session.verify_2fa(challenge, {"otp": LOGIN_CODE})

    assert error_of(fifth) == (400, "otp_invalid")
    assert error_of(right) == (401, "challenge_invalid")
    assert right.json()["message"] == (
        "This sign-in attempt has expired or was already completed. Please sign in again."
    )
    assert set_cookie(right, "tessera_rt_web") is None
    assert not session.reader.exists(session.challenge_key(challenge))
    assert checks_made(session.identity) == 5
    assert session.keys() == []


@pytest.mark.parametrize(
    "refusal",
    [(400, "otp_expired"), (400, "otp_attempts_exceeded"), (409, "otp_used")],
)
async def test_identitys_refusals_reach_the_client_unchanged_and_spend_the_attempt(
    session, refusal
):
    session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    session.identity.refusal = refusal

    answer = await session.verify_2fa(challenge, {"otp": LOGIN_CODE})

    assert error_of(answer) == refusal
    assert session.challenge_state(challenge) == {"wrong": "1", "pending": "0"}


async def test_a_totp_code_used_twice_is_refused_with_otp_used(session):
    session.identity.add_user(USERNAME, mfa_mode="totp")
    first = await session.challenge(USERNAME, device="phone")
    assert (await session.verify_2fa(first, {"otp": TOTP_CODE}, device="phone")).status_code == 200
    second = await session.challenge(USERNAME, device="laptop")

    answer = await session.verify_2fa(second, {"otp": TOTP_CODE}, device="laptop")

    assert error_of(answer) == (409, "otp_used")
    assert session.challenge_state(second) == {"wrong": "1", "pending": "0"}


async def test_parallel_wrong_codes_reach_identity_at_most_five_times(session):
    session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    session.identity.check_delay_s = 0.2
    headers = {"x-mfa-challenge": challenge, "x-device-id": "device-1", "x-app-id": "web"}

    answers = await in_parallel(
        session.client,
        [
            lambda http: http.post("/v1/verify-2FA", json={"otp": WRONG}, headers=headers)
            for _ in range(20)
        ],
    )

    seen = sorted(error_of(answer) for answer in answers)
    assert seen == [(400, "otp_invalid")] * 5 + [(401, "challenge_invalid")] * 15
    assert checks_made(session.identity) == 5
    assert session.keys() == []


async def test_correct_codes_sent_at_once_start_exactly_one_session(session):
    user_id = session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    session.identity.check_delay_s = 0.2  # every request reserves before identity answers one
    headers = {"x-mfa-challenge": challenge, "x-device-id": "device-1", "x-app-id": "web"}

    answers = await in_parallel(
        session.client,
        [
            lambda http: http.post("/v1/verify-2FA", json={"otp": LOGIN_CODE}, headers=headers)
            for _ in range(5)
        ],
    )

    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401, 401]
    assert checks_made(session.identity) == 5
    [won] = [a for a in answers if a.status_code == 200]
    assert {error_of(a) for a in answers if a is not won} == {(401, "challenge_invalid")}
    assert [set_cookie(a, "tessera_rt_web") is None for a in answers].count(False) == 1
    prefix = session.settings.redis_key_prefix
    assert session.reader.smembers(f"{prefix}{{u:{user_id}}}:families") == {
        session.login_of(won).sid
    }


# challenges that must be refused


async def test_a_used_challenge_replayed_is_refused_and_identity_is_not_asked_again(session):
    session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    first = await session.verify_2fa(challenge, {"otp": LOGIN_CODE})
    assert first.status_code == 200
    sid = session.login_of(first).sid

    replayed = await session.verify_2fa(challenge, {"otp": LOGIN_CODE}, **{"accept-language": "de"})

    assert error_of(replayed) == (401, "challenge_invalid")
    assert replayed.json()["message"] == (
        "Dieser Anmeldeversuch ist abgelaufen oder wurde bereits abgeschlossen."
        " Bitte melden Sie sich erneut an."
    )
    assert set_cookie(replayed, "tessera_rt_web") is None
    assert checks_made(session.identity) == 1
    families = session.reader.smembers(
        f"{session.settings.redis_key_prefix}{{u:{claims_of(challenge)['sub']}}}:families"
    )
    assert families == {sid}


async def test_a_challenge_whose_lifetime_has_passed_is_refused(
    start_session: StartSession, identity: StandInIdentity
):
    session = await start_session(challenge_ttl_s=1)
    identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    assert 0 < session.reader.pttl(session.challenge_key(challenge)) <= 1000

    await asyncio.sleep(1.2)
    answer = await session.verify_2fa(challenge, {"otp": LOGIN_CODE})

    assert error_of(answer) == (401, "challenge_invalid")
    assert checks_made(identity) == 0
    assert session.keys() == []


async def test_a_challenge_token_past_its_exp_is_refused_even_while_its_state_exists(session):
    session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    now = int(time.time())
    expired = sign_like(session, challenge, iat=now - 400, exp=now - 100)

    answer = await session.verify_2fa(expired, {"otp": LOGIN_CODE})

    assert error_of(answer) == (401, "challenge_invalid")
    assert session.challenge_state(challenge) == {"wrong": "0", "pending": "0"}
    assert checks_made(session.identity) == 0


@pytest.mark.parametrize(("device", "app"), [("device-2", "web"), ("device-1", "mobile")])
async def test_a_challenge_from_another_device_or_app_is_refused_and_nothing_is_counted(
    session, device, app
):
    session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME, device="device-1", app="web")

    answer = await session.verify_2fa(challenge, {"otp": LOGIN_CODE}, device=device, app=app)

    assert error_of(answer) == (401, "challenge_invalid")
    assert set_cookie(answer, f"tessera_rt_{app}") is None
    assert session.challenge_state(challenge) == {"wrong": "0", "pending": "0"}
    assert checks_made(session.identity) == 0
    own = await session.verify_2fa(challenge, {"otp": LOGIN_CODE}, device="device-1", app="web")
    assert own.status_code == 200, own.text


async def test_forged_challenges_and_access_tokens_in_the_challenge_header_are_refused(session):
    session.identity.add_user(USERNAME)
    access = (await session.login(USERNAME)).access_token
    session.identity.add_user("mfa@example.com", mfa_mode="totp")
    challenge = await session.challenge("mfa@example.com")
    kid, _ = signing_key(session.keys_dir)
    forged = {
        "access_token": access,
        "garbage": "not-a-jwt",
        "foreign_key": jwt.encode(
            claims_of(challenge),
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": kid, "typ": "mfa-challenge+jwt"},
        ),
        "never_issued_cid": sign_like(session, challenge, cid=str(uuid.uuid4())),
        "access_typ": jwt.encode(
            claims_of(challenge),
            signing_key(session.keys_dir)[1],
            algorithm="EdDSA",
            headers={"kid": kid, "typ": "at+jwt"},
        ),
    }

    seen = {}
    for name, token in forged.items():
        seen[name] = error_of(await session.verify_2fa(token, {"otp": TOTP_CODE}))

    assert seen == dict.fromkeys(forged, (401, "challenge_invalid"))
    assert checks_made(session.identity) == 0
    assert session.challenge_state(challenge) == {"wrong": "0", "pending": "0"}


async def test_verify_without_the_challenge_header_answers_unauthorized(session):
    session.identity.add_user(USERNAME, mfa_mode="email")
    await session.challenge(USERNAME)

    for header in (None, "", "   "):
        answer = await session.verify_2fa(header, {"otp": LOGIN_CODE})
        assert error_of(answer) == (401, "unauthorized")

    assert checks_made(session.identity) == 0


async def test_verify_without_a_device_id_is_refused_before_the_challenge_is_looked_at(session):
    session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)

    answer = await session.verify_2fa(challenge, {"otp": LOGIN_CODE}, device=None)

    assert error_of(answer) == (400, "device_id_required")
    assert session.challenge_state(challenge) == {"wrong": "0", "pending": "0"}


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "otp", "missing_field"),
        ({"otp": None, "recovery_code": None}, "otp", "missing_field"),
        ({"otp": LOGIN_CODE, "recovery_code": "abcd-efgh"}, "recovery_code", "unknown_field"),
        ({"otp": ""}, "otp", "too_short"),
        ({"otp": 123456}, "otp", "wrong_type"),
    ],
)
async def test_verify_needs_exactly_one_of_otp_and_recovery_code(session, body, field, code):
    session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)

    answer = await session.verify_2fa(challenge, body)

    assert error_of(answer) == (422, "validation_failed")
    [detail] = answer.json()["details"]
    assert (detail["field"], detail["code"]) == (field, code)
    assert detail["message"]
    assert session.challenge_state(challenge) == {"wrong": "0", "pending": "0"}
    assert checks_made(session.identity) == 0


# pre-auth only


async def test_a_challenge_token_is_refused_on_every_session_route_and_as_a_refresh_cookie(
    session,
):
    user_id = session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    headers = {**bearer(challenge), "x-device-id": "device-1", "x-app-id": "web"}

    refused = {
        "logout": await session.client.post("/v1/logout", headers=headers),
        "logout_all": await session.client.post("/v1/logout-all", headers=headers),
        "sessions": await session.client.get("/v1/sessions", headers=headers),
        "end_session": await session.client.delete(
            f"/v1/sessions/{claims_of(challenge)['cid']}", headers=headers
        ),
    }
    refresh = await session.refresh(challenge)
    introspected = await session.client.post(
        "/internal/v1/introspect", json={"token": challenge}, headers=INTERNAL
    )

    assert {name: error_of(answer) for name, answer in refused.items()} == dict.fromkeys(
        refused, (401, "token_invalid")
    )
    assert error_of(refresh) == (401, "refresh_token_invalid")
    assert introspected.json() == {"active": False}
    # Refusing it elsewhere neither used nor counted it: the sign-in can still complete.
    assert session.challenge_state(challenge) == {"wrong": "0", "pending": "0"}
    assert session.keys(user_id) == session.challenge_keys(challenge)
    assert (await session.verify_2fa(challenge, {"otp": LOGIN_CODE})).status_code == 200


# identity unavailable


@pytest.mark.parametrize("trouble", ["fail", "hang"])
async def test_identity_down_answers_503_and_the_attempt_is_given_back(
    start_session: StartSession, identity: StandInIdentity, trouble
):
    session = await start_session(identity_timeout_s=0.3)
    identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    identity.mode = trouble

    for _ in range(6):  # more than the limit: none of these may count
        answer = await session.verify_2fa(challenge, {"otp": LOGIN_CODE})
        assert error_of(answer) == (503, "service_unavailable")
        assert answer.headers["retry-after"] == "2"
        assert set_cookie(answer, "tessera_rt_web") is None
    assert session.challenge_state(challenge) == {"wrong": "0", "pending": "0"}

    identity.mode = "ok"
    answer = await session.verify_2fa(challenge, {"otp": LOGIN_CODE})
    assert answer.status_code == 200, answer.text


# the require_totp policy


async def test_require_totp_sends_a_user_without_mfa_to_totp_setup_and_sends_no_code(
    start_session: StartSession, identity: StandInIdentity
):
    session = await start_session(require_totp=True)
    user_id = identity.add_user(USERNAME, mfa_mode="none")

    answer = await session.authenticate(USERNAME)

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "mfa_required",
        "mfa_mode",
        "challenge_token",
        "user_id",
        "totp_setup_required",
    }
    assert (body["mfa_required"], body["mfa_mode"], body["totp_setup_required"]) == (
        True,
        "totp",
        True,
    )
    assert body["user_id"] == user_id
    assert set_cookie(answer, "tessera_rt_web") is None
    assert identity.calls_to(SEND_CODE) == []
    challenge = body["challenge_token"]
    assert claims_of(challenge)["mfa_mode"] == "totp"
    assert session.keys(user_id) == session.challenge_keys(challenge)

    # identity's TOTP setup happens here (Bearer <challenge>); then the sign-in completes
    done = await session.verify_2fa(challenge, {"otp": TOTP_CODE})
    assert done.status_code == 200, done.text
    assert claims_of(done.json()["access_token"])["amr"] == ["pwd", "totp"]


async def test_require_totp_leaves_users_with_a_second_factor_as_they_are(
    start_session: StartSession, identity: StandInIdentity
):
    session = await start_session(require_totp=True)
    identity.add_user(USERNAME, mfa_mode="sms")

    body = (await session.authenticate(USERNAME)).json()

    assert set(body) == {"mfa_required", "mfa_mode", "challenge_token", "user_id"}
    assert body["mfa_mode"] == "sms"
    assert len(identity.calls_to(SEND_CODE)) == 1


# Redis


async def test_every_redis_key_of_the_mfa_step_has_a_ttl(session):
    user_id = session.identity.add_user(USERNAME, mfa_mode="email")
    challenge = await session.challenge(USERNAME)
    seen: list[str] = []

    def all_keys_expire() -> None:
        for key in session.keys(user_id):
            assert session.reader.ttl(key) > 0, key
            seen.append(key)

    all_keys_expire()
    await session.verify_2fa(challenge, {"otp": WRONG})
    all_keys_expire()
    await session.verify_2fa(challenge, {"otp": LOGIN_CODE})
    all_keys_expire()
    exhausted = await session.challenge(USERNAME, device="device-2")
    for _ in range(5):
        await session.verify_2fa(exhausted, {"otp": WRONG}, device="device-2")
    all_keys_expire()

    assert session.challenge_key(challenge) in seen
    assert not session.reader.exists(session.challenge_key(exhausted))
