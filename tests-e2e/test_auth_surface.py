"""The `/auth` surface of guides 002 and 003 as a native client uses it, through the gateway:
tokens in the body, codes read from the caught email and SMS, TOTP computed with pyotp."""

import json
import time
import uuid

import pyotp
import pytest

from .test_foundation import call
from .test_mfa import email_code, next_sms_code

PASSWORD = "securePassword123!"
NEW_PASSWORD = "anotherGoodPassword456?"
DEVICE: dict[str, str] = {}


@pytest.fixture(autouse=True)
def new_device() -> None:
    DEVICE.update({"X-Device-ID": f"e2e-auth-{uuid.uuid4().hex[:8]}", "X-App-ID": "native"})


def auth(suite, method: str, path: str, body: dict | None = None, token: str | None = None, **h):
    headers = {"Content-Type": "application/json", **DEVICE, **h}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    return call(f"{suite.gateway_url}/auth/{path}", method, data, **headers)


def registered(suite, address: str) -> str:
    status, _, body = auth(
        suite,
        "POST",
        "register",
        {
            "email": address,
            "password": PASSWORD,
            "termsAccepted": True,
            "privacyPolicyAccepted": True,
        },
    )
    assert status == 200, body
    return str(body["userId"])


def login(suite, address: str, password: str = PASSWORD) -> dict:
    status, headers, body = auth(suite, "POST", "login", {"email": address, "password": password})
    assert status == 200, body
    assert "set-cookie" not in {k.lower() for k in headers}  # native: tokens in the body
    return body


def test_a_native_client_registers_signs_in_verifies_methods_and_refreshes(suite):
    address = "e2e.auth.native@example.com"
    registered(suite, address)
    # Its code is mail 1 only once it arrived: the next code must not overtake it.
    suite.mail.wait_for(to=address, count=1, timeout=20)
    tokens = login(suite, address)
    assert set(tokens) == {"idToken", "refreshToken"}
    id_token = tokens["idToken"]

    status, _, sent = auth(suite, "GET", "otp/code?method=email", token=id_token)
    assert status == 200, sent
    code = email_code(suite, address, 2)  # the first code came with the registration
    status, _, user = auth(
        suite, "POST", "otp/code", {"channel": "email"}, token=id_token, **{"x-otp": code}
    )
    assert status == 200, user
    assert user["hasValidatedEmail"] is True
    assert user["email"] == "e***e@example.com"  # obfuscated

    number = f"+4179{uuid.uuid4().int % 10**7:07d}"
    national = "0" + number[3:]
    status, _, user = auth(
        suite, "POST", "otp/methods/sms", {"phone": national, "country": "CH"}, token=id_token
    )
    assert status == 200, user
    assert user["phoneNumber"] == f"+41*******{number[-2:]}"
    assert user["hasValidatedPhone"] is False
    code = next_sms_code(suite, number, 0)
    status, _, user = auth(
        suite, "POST", "otp/code", {"channel": "sms"}, token=id_token, **{"x-otp": code}
    )
    assert status == 200, user
    assert user["hasValidatedPhone"] is True
    assert len(user["recoveryCodes"]) == 10  # two methods: MFA is on

    status, _, user = auth(suite, "POST", "otp/methods/totp", token=id_token)
    assert status == 200, user
    assert user["hasValidatedSecret"] is False
    app = pyotp.TOTP(user["secret"])
    status, _, user = auth(
        suite, "POST", "otp/code", {"channel": "totp"}, token=id_token, **{"x-otp": app.now()}
    )
    assert (status, user["hasValidatedSecret"]) == (200, True)
    status, _, user = auth(
        suite,
        "DELETE",
        "otp/methods/totp",
        token=id_token,
        **{"x-otp": app.at(time.time() + 30)},
    )
    assert (status, user["hasValidatedSecret"]) == (200, False)

    status, _, refreshed = auth(
        suite, "POST", "login/refresh", {"refreshToken": tokens["refreshToken"]}
    )
    assert status == 200, refreshed
    assert refreshed["refreshToken"] != tokens["refreshToken"]
    status, _, valid = auth(suite, "GET", "validate-session", token=refreshed["idToken"])
    assert (status, valid["valid"]) == (200, True)


def test_a_body_refresh_token_replayed_after_rotation_revokes_its_family(suite):
    address = "e2e.auth.replay@example.com"
    registered(suite, address)
    first = login(suite, address)["refreshToken"]
    _, _, second = auth(suite, "POST", "login/refresh", {"refreshToken": first})
    _, _, third = auth(suite, "POST", "login/refresh", {"refreshToken": second["refreshToken"]})
    _, _, fourth = auth(suite, "POST", "login/refresh", {"refreshToken": third["refreshToken"]})
    assert "idToken" in fourth

    # Three rotations back: outside the grace rule (the last two rotated away) even at once.
    status, _, body = auth(suite, "POST", "login/refresh", {"refreshToken": first})
    assert (status, body["code"]) == (401, "refresh_token_invalid")
    status, _, body = auth(suite, "POST", "login/refresh", {"refreshToken": fourth["refreshToken"]})
    assert (status, body["code"]) == (401, "refresh_token_invalid")  # the family is gone
    status, _, body = auth(suite, "GET", "validate-session", token=fourth["idToken"])
    assert (status, body["code"]) == (401, "token_invalid")


def test_mfa_by_the_002_routes_enable_verify_recover_then_log_out(suite):
    address = "e2e.auth.mfa@example.com"
    registered(suite, address)
    id_token = login(suite, address)["idToken"]
    status, _, setup = auth(suite, "POST", "enable-mfa", token=id_token)
    assert status == 200, setup
    assert setup["qrCode"].startswith("data:image/svg+xml;base64,")
    app = pyotp.TOTP(setup["secret"])
    status, _, enabled = auth(suite, "POST", "enable-mfa", {"otp": app.now()}, token=id_token)
    assert status == 200, enabled
    codes = enabled["recoveryCodes"]

    status, _, step = auth(suite, "POST", "login", {"email": address, "password": PASSWORD})
    assert (status, step["mfaRequired"], step["mfaMode"]) == (200, True, "totp")
    status, _, tokens = auth(
        suite,
        "POST",
        "verify-mfa",
        {"challengeToken": step["challengeToken"], "otp": app.at(time.time() + 30)},
    )
    assert status == 200, tokens
    assert set(tokens) == {"idToken", "refreshToken"}

    status, _, step = auth(suite, "POST", "login", {"email": address, "password": PASSWORD})
    status, _, tokens = auth(
        suite,
        "POST",
        "recover-mfa",
        {"challengeToken": step["challengeToken"], "recoveryCode": codes[0]},
    )
    assert status == 200, tokens
    plain = login(suite, address)  # MFA is off now: the password alone signs in
    assert "idToken" in plain

    status, _, body = auth(suite, "POST", "logout", token=plain["idToken"])
    assert (status, body["status"]) == (200, 200)
    status, _, body = auth(suite, "GET", "validate-session", token=plain["idToken"])
    assert (status, body["code"]) == (401, "token_invalid")


def test_profile_email_change_and_password_reset_by_the_002_routes(suite):
    address, new_address = "e2e.auth.profile@example.com", "e2e.auth.moved@example.com"
    registered(suite, address)
    id_token = login(suite, address)["idToken"]
    status, _, user = auth(
        suite, "PUT", "update-user", {"name": "Jane Smith", "locale": "de"}, token=id_token
    )
    assert status == 200, user

    status, _, user = auth(suite, "PUT", "update-user", {"email": new_address}, token=id_token)
    assert status == 200, user
    code = email_code(suite, new_address, 1)
    notice = suite.mail.wait_for(to=address, count=2, timeout=20)[-1]
    assert notice["Content-Language"] == "de"  # the new language is used at once
    status, _, user = auth(suite, "PUT", "update-email", {"otp": code}, token=id_token)
    assert status == 200, user
    assert user["email"] == "e***d@example.com"
    status, _, body = auth(suite, "POST", "login", {"email": address, "password": PASSWORD})
    assert (status, body["code"]) == (401, "invalid_credentials")
    session = login(suite, new_address)

    for who in (new_address, "e2e.auth.nobody@example.com"):
        status, _, body = auth(suite, "POST", "request-reset-password", {"email": who})
        assert status == 200, body
    code = email_code(suite, new_address, 2)
    status, _, body = auth(
        suite,
        "POST",
        "reset-password",
        {"email": new_address, "otp": code, "password": NEW_PASSWORD},
    )
    assert status == 200, body
    status, _, body = auth(suite, "GET", "validate-session", token=session["idToken"])
    assert (status, body["code"]) == (401, "token_invalid")  # every session ended
    status, _, body = auth(
        suite, "POST", "login/refresh", {"refreshToken": session["refreshToken"]}
    )
    assert status == 401
    assert "idToken" in login(suite, new_address, NEW_PASSWORD)
