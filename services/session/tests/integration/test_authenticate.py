"""Signing in through /v1/authenticate, with identity answering, refusing or gone."""

import base64
import time
from typing import Any

import jwt
import pytest

from tessera_shared.devservers.ports import free_port

from .conftest import (
    INTERNAL_TOKEN,
    LOCKED_RETRY_AFTER,
    PASSWORD,
    USERNAME,
    StandInIdentity,
    StartSession,
    claims_of,
    digest,
    error_of,
    set_cookie,
)

VERIFY = "/internal/v1/password/verify"
SEND_CODE = "/internal/v1/codes/send"


# signing in


async def test_authenticate_answers_the_tokens_and_sets_a_locked_down_refresh_cookie(session):
    user_id = session.identity.add_user(USERNAME)

    answer = await session.authenticate(USERNAME, device="device-1", app="web")

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "user_id"}
    assert (body["expires_in"], body["user_id"]) == (899, user_id)
    assert answer.headers["cache-control"] == "no-store"
    cookie = set_cookie(answer, "tessera_rt_web")
    assert cookie is not None
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/v1/refresh-token"
    assert cookie["max-age"] == "1209600"
    cookie_user, sid, secret = cookie.value.split(".")
    assert cookie_user == user_id
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32

    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["typ"]) == ("EdDSA", "at+jwt")
    jwks = (await session.client.get("/.well-known/jwks.json")).json()
    published = {key["kid"]: key for key in jwks["keys"]}
    assert header["kid"] in published
    claims = jwt.decode(
        token,
        jwt.PyJWK(published[header["kid"]]).key,
        algorithms=["EdDSA"],
        audience="tessera",
        issuer="tessera",
    )
    assert set(claims) == {
        *("iss", "aud", "sub", "sid", "iat", "exp", "jti", "amr", "did", "aid", "client_id")
    }
    assert (claims["sub"], claims["sid"]) == (user_id, sid)
    assert claims["exp"] == claims["iat"] + 900
    assert abs(claims["iat"] - time.time()) < 5
    assert claims["amr"] == ["pwd"]
    assert (claims["did"], claims["aid"], claims["client_id"]) == ("device-1", "web", "web")

    family = session.family(user_id, sid)
    assert family["current"] == digest(cookie.value)
    assert (family["device_id"], family["app_id"], family["user_id"]) == (
        "device-1",
        "web",
        user_id,
    )
    assert 1209600 - 60 < session.family_ttl(user_id, sid) <= 1209600
    prefix = session.settings.redis_key_prefix
    assert session.keys(user_id) == sorted(
        [
            f"{prefix}{{u:{user_id}}}:dev:device-1:web",
            f"{prefix}{{u:{user_id}}}:fam:{sid}",
            f"{prefix}{{u:{user_id}}}:families",
        ]
    )
    for key in session.keys(user_id):
        assert session.reader.ttl(key) > 0, key
    stored = session.dump(user_id)
    assert secret not in stored
    assert cookie.value not in stored
    [call] = session.identity.calls_to(VERIFY)
    assert call.body == {
        "username": USERNAME,
        "password": PASSWORD,
        "client_ip": "",
        "user_agent": "testclient",
    }
    assert call.headers["x-internal-token"] == INTERNAL_TOKEN


async def test_authenticate_without_a_device_id_is_refused_in_the_callers_language(session):
    session.identity.add_user(USERNAME)

    answer = await session.authenticate(USERNAME, device=None, **{"accept-language": "de"})

    assert error_of(answer) == (400, "device_id_required")
    assert answer.json()["message"] == (
        "Ein gültiger X-Device-ID-Header ist erforderlich (1 bis 128 Buchstaben, Ziffern oder"
        " . _ : -)."
    )
    assert set_cookie(answer, "tessera_rt_web") is None
    assert session.identity.calls == []
    assert session.keys() == []


@pytest.mark.parametrize("app", ["bad app", "web/app", "x" * 65, "app;x"])
async def test_authenticate_with_an_invalid_app_id_is_refused(session, app):
    session.identity.add_user(USERNAME)

    answer = await session.authenticate(USERNAME, app=app)

    assert error_of(answer) == (400, "app_id_invalid")
    assert session.identity.calls == []
    assert session.keys() == []


async def test_a_wrong_password_passes_on_invalid_credentials_and_sets_no_cookie(session):
    session.identity.add_user(USERNAME)

    answer = await session.authenticate(USERNAME, password="not-the-password")

    assert error_of(answer) == (401, "invalid_credentials")
    assert answer.json()["message"] == "The username or password is incorrect."
    assert "set-cookie" not in answer.headers
    assert "access_token" not in answer.json()
    assert session.keys() == []


async def test_a_locked_account_passes_on_423_with_retry_after(session):
    session.identity.add_user(USERNAME)
    session.identity.lock(USERNAME)

    answer = await session.authenticate(USERNAME)

    assert error_of(answer) == (423, "account_locked")
    assert answer.headers["retry-after"] == LOCKED_RETRY_AFTER
    assert "set-cookie" not in answer.headers
    assert session.keys() == []


@pytest.mark.parametrize("trouble", ["fail", "hang", "unreachable"])
async def test_identity_failing_slow_or_down_answers_503_and_never_a_token(
    start_session: StartSession, identity: StandInIdentity, trouble: str
):
    overrides: dict[str, Any] = {"identity_timeout_s": 0.3}
    if trouble == "unreachable":
        overrides["identity_url"] = f"http://127.0.0.1:{free_port()}"
    else:
        identity.mode = trouble  # type: ignore[assignment]
    session = await start_session(**overrides)
    identity.add_user(USERNAME)

    started = time.monotonic()
    answer = await session.authenticate(USERNAME)

    assert time.monotonic() - started < 2
    assert error_of(answer) == (503, "service_unavailable")
    assert answer.headers["retry-after"] == "2"
    assert "access_token" not in answer.json()
    assert "set-cookie" not in answer.headers
    assert session.keys() == []


async def test_a_session_service_with_the_wrong_internal_token_answers_5xx_not_401(
    start_session: StartSession, identity: StandInIdentity
):
    # A misconfiguration on our side must not tell the person their sign-in was refused.
    session = await start_session(internal_token="not-the-internal-token")
    identity.add_user(USERNAME)

    answer = await session.authenticate(USERNAME)

    assert answer.status_code in (502, 503), answer.text
    assert error_of(answer)[1] in ("bad_gateway", "service_unavailable")
    assert session.keys() == []


# the MFA step


@pytest.mark.parametrize(("mfa_mode", "codes_sent"), [("email", 1), ("sms", 1), ("totp", 0)])
async def test_a_user_with_mfa_gets_a_challenge_and_no_session(session, mfa_mode, codes_sent):
    user_id = session.identity.add_user(USERNAME, mfa_mode=mfa_mode)

    answer = await session.authenticate(USERNAME, device="device-1", app="web")

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"mfa_required", "mfa_mode", "challenge_token", "user_id"}
    assert (body["mfa_required"], body["mfa_mode"], body["user_id"]) == (True, mfa_mode, user_id)
    assert "set-cookie" not in answer.headers
    sent = session.identity.calls_to(SEND_CODE)
    assert len(sent) == codes_sent
    if sent:
        assert sent[0].body["user_id"] == user_id
        assert sent[0].headers["x-internal-token"] == INTERNAL_TOKEN

    challenge = body["challenge_token"]
    header = jwt.get_unverified_header(challenge)
    assert (header["alg"], header["typ"]) == ("EdDSA", "mfa-challenge+jwt")
    claims = claims_of(challenge)
    assert (claims["sub"], claims["did"], claims["aid"], claims["mfa_mode"]) == (
        user_id,
        "device-1",
        "web",
        mfa_mode,
    )
    assert claims["exp"] - claims["iat"] == 300
    # No session yet: only the challenge's own state (and the user's list of open challenges,
    # which ending all sessions closes), living as long as its token.
    tag = f"{session.settings.redis_key_prefix}{{u:{user_id}}}"
    stored = session.keys()
    assert stored == [f"{tag}:mfa:{claims['cid']}", f"{tag}:mfas"]
    assert session.reader.smembers(f"{tag}:mfas") == {claims["cid"]}
    for key in stored:
        assert 290 < session.reader.ttl(key) <= 300
    refused = await session.sessions(challenge)
    assert error_of(refused) == (401, "token_invalid")
