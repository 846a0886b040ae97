"""Two-factor sign-in as a client lives it, through the gateway: codes read from the caught SMS
and email, TOTP codes computed with pyotp as an authenticator app would."""

import json
import re
import time
import uuid

import jwt
import pyotp
import pytest

from .test_foundation import call
from .test_registration import CODE
from .test_sessions import COOKIE, active_account, cookie_from
from .test_sessions import authenticate as sessions_authenticate

# Sign-in routes are rate-limited per device: each test here signs in from its own.
DEVICE: dict[str, str] = {}


@pytest.fixture(autouse=True)
def new_device() -> None:
    DEVICE.update({"X-Device-ID": f"e2e-mfa-{uuid.uuid4().hex[:8]}", "X-App-ID": "web-app"})


def authenticate(suite, username: str):
    return sessions_authenticate(suite, username, device=DEVICE)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **DEVICE}


def send(suite, method: str, path: str, token: str, body: dict | None = None, **headers: str):
    data = json.dumps(body).encode() if body is not None else None
    return call(f"{suite.gateway_url}{path}", method, data, **{**bearer(token), **headers})


def sms_codes(suite, number: str) -> list[str]:
    texts = [json.loads(r.body) for r in suite.sms.received]
    return [CODE.search(t["text"]).group(1) for t in texts if t["to"] == number]


def next_sms_code(suite, number: str, seen: int, within: float = 20.0) -> str:
    """The code of the SMS to `number` after the first `seen` ones."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        codes = sms_codes(suite, number)
        if len(codes) > seen:
            return codes[seen]
        time.sleep(0.1)
    raise AssertionError(f"no new SMS to {number}")


def email_code(suite, address: str, nth: int, within: float = 20.0) -> str:
    """The code of the `nth` email (1-based) to `address`."""
    message = suite.mail.wait_for(to=address, count=nth, timeout=within)[nth - 1]
    found = CODE.search(message.get_body(preferencelist=("plain",)).get_content())
    assert found, message
    return found.group(1)


def verify_2fa(suite, challenge: str, body: dict, **headers: str):
    return call(
        f"{suite.gateway_url}/v1/verify-2FA",
        "POST",
        json.dumps(body).encode(),
        **{"X-MFA-Challenge": challenge, "Content-Type": "application/json", **DEVICE, **headers},
    )


def signed_in(suite, address: str) -> tuple[str, str]:
    """A new account by email, signed in: (user id, access token)."""
    user_id = active_account(suite, address)
    status, _, body = authenticate(suite, address)
    assert status == 200, body
    return user_id, body["access_token"]


def with_phone(suite, address: str) -> tuple[str, str, list[str]]:
    """Register by email, add a phone and verify it: (user id, number, recovery codes)."""
    user_id, access = signed_in(suite, address)
    number = f"+4179{uuid.uuid4().int % 10**7:07d}"
    status, _, body = send(
        suite, "POST", "/v1/users/credentials", access, {"type": "phone", "value": number}
    )
    assert status == 200, body
    code = next_sms_code(suite, number, 0)
    status, _, body = send(
        suite,
        "POST",
        "/v1/users/verify-credential",
        access,
        {"user_id": user_id, "credential_type": "phone", "otp": code},
    )
    assert status == 200, body
    assert body["mfa_mode"] == "sms"
    assert len(body["recovery_codes"]) == 10
    return user_id, number, body["recovery_codes"]


def challenge_for(suite, address: str, mode: str) -> str:
    status, headers, body = authenticate(suite, address)
    assert status == 200, body
    assert body["mfa_required"] is True
    assert body["mfa_mode"] == mode
    assert "set-cookie" not in headers  # no session before the second factor
    return str(body["challenge_token"])


def test_after_adding_a_phone_sign_in_needs_the_sms_code_and_then_gives_a_session(suite):
    address = "e2e.mfa.sms@example.com"
    user_id, number, _ = with_phone(suite, address)
    challenge = challenge_for(suite, address, "sms")
    code = next_sms_code(suite, number, 1)  # the login code, after the verification code

    status, headers, body = verify_2fa(suite, challenge, {"otp": code})
    assert status == 200, body
    assert set(body) == {"access_token", "expires_in", "user_id"}
    assert (body["expires_in"], body["user_id"]) == (899, user_id)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]
    cookie = cookie_from(headers)
    refreshed = call(
        f"{suite.gateway_url}/v1/refresh-token", "POST", b"", Cookie=f"{COOKIE}={cookie}", **DEVICE
    )
    assert refreshed[0] == 200

    status, _, body = verify_2fa(suite, challenge, {"otp": code})
    assert (status, body["code"]) == (401, "challenge_invalid")  # a used challenge is dead


def test_the_challenge_token_is_refused_as_a_bearer_and_on_refresh(suite):
    address = "e2e.mfa.refused@example.com"
    with_phone(suite, address)
    challenge = challenge_for(suite, address, "sms")
    for method, path, body in (
        ("POST", "/v1/users/credentials", {"type": "email", "value": "x@example.com"}),
        ("POST", "/v1/logout", None),
        ("GET", "/v1/users/me", None),
        ("GET", "/v1/sessions", None),
    ):
        status, headers, answer = send(suite, method, path, challenge, body)
        assert (status, answer["code"]) == (401, "token_invalid"), path
        assert headers["www-authenticate"].startswith("Bearer")
    for headers in ({"Cookie": f"{COOKIE}={challenge}"}, {"Authorization": f"Bearer {challenge}"}):
        status, _, answer = call(
            f"{suite.gateway_url}/v1/refresh-token", "POST", b"", **headers, **DEVICE
        )
        assert (status, answer["code"]) == (401, "refresh_token_invalid")


def test_wrong_codes_are_counted_per_challenge_and_the_fifth_kills_it(suite):
    address = "e2e.mfa.tries@example.com"
    _, number, _ = with_phone(suite, address)
    challenge = challenge_for(suite, address, "sms")
    code = next_sms_code(suite, number, 1)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        status, _, body = verify_2fa(suite, challenge, {"otp": wrong})
        assert (status, body["code"]) == (400, "otp_invalid")
    status, _, body = verify_2fa(suite, challenge, {"otp": code})
    assert (status, body["code"]) == (401, "challenge_invalid")


def test_with_an_authenticator_app_sign_in_needs_a_fresh_totp_code(suite):
    address = "e2e.mfa.totp@example.com"
    user_id, access = signed_in(suite, address)
    status, _, setup = send(suite, "POST", "/v1/users/totp/setup", access)
    assert status == 200, setup
    assert setup["otpauth_uri"].startswith("otpauth://totp/Tessera:")
    assert setup["qr_code"].startswith("data:image/svg+xml;base64,")
    app = pyotp.TOTP(setup["secret"])
    status, _, body = send(suite, "POST", "/v1/users/totp/confirm", access, {"otp": app.now()})
    assert status == 200, body
    assert body["mfa_mode"] == "totp"
    assert len(body["recovery_codes"]) == 10

    challenge = challenge_for(suite, address, "totp")
    # The gateway lets the challenge token through on the setup route (and only there);
    # identity lets it enrol only a user without a second factor.
    status, _, body = send(suite, "POST", "/v1/users/totp/setup", challenge)
    assert (status, body["code"]) == (403, "forbidden")
    status, _, body = verify_2fa(suite, challenge, {"otp": app.now()})
    assert (status, body["code"]) == (409, "otp_used")  # the step that confirmed the app
    code = app.at(time.time() + 30)  # the next step, inside the ±1 window
    status, _, body = verify_2fa(suite, challenge, {"otp": code})
    assert status == 200, body
    assert body["user_id"] == user_id
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "totp"]

    replay = challenge_for(suite, address, "totp")
    status, _, body = verify_2fa(suite, replay, {"otp": code})
    assert (status, body["code"]) == (409, "otp_used")  # the same code again, still in its window


def test_a_recovery_code_signs_in_once_and_the_owner_is_told(suite):
    address = "e2e.mfa.recovery@example.com"
    user_id, _, codes = with_phone(suite, address)
    challenge = challenge_for(suite, address, "sms")
    status, headers, body = verify_2fa(suite, challenge, {"recovery_code": codes[0]})
    assert status == 200, body
    assert body["user_id"] == user_id
    assert cookie_from(headers)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "recovery"]
    notice = suite.mail.wait_for(to=address, count=2, timeout=20)[-1]
    assert "recovery code" in str(notice["Subject"]).lower()
    assert not re.search(r"\b\d{6}\b", notice.get_body(preferencelist=("plain",)).get_content())

    again = challenge_for(suite, address, "sms")
    status, _, body = verify_2fa(suite, again, {"recovery_code": codes[0]})
    assert (status, body["code"]) == (400, "recovery_code_invalid")
