"""Password reset and email change under /v1, through the gateway, codes from the caught email."""

import json
import uuid

import pytest

from .test_foundation import call
from .test_mfa import email_code
from .test_registration import PASSWORD
from .test_sessions import COOKIE, active_account, cookie_from
from .test_sessions import authenticate as sessions_authenticate

NEW_PASSWORD = "anotherGoodPassword456?"
DEVICE: dict[str, str] = {}


@pytest.fixture(autouse=True)
def new_device() -> None:
    DEVICE.update({"X-Device-ID": f"e2e-life-{uuid.uuid4().hex[:8]}", "X-App-ID": "web-app"})


def authenticate(suite, username: str, password: str = PASSWORD):
    return sessions_authenticate(suite, username, password, device=DEVICE)


def refresh(suite, cookie: str):
    headers = {"Cookie": f"{COOKIE}={cookie}", **DEVICE}
    return call(f"{suite.gateway_url}/v1/refresh-token", "POST", b"", **headers)


def post(suite, path: str, body: dict, token: str | None = None):
    headers = {"Content-Type": "application/json", **DEVICE}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return call(f"{suite.gateway_url}{path}", "POST", json.dumps(body).encode(), **headers)


def signed_in(suite, address: str, password: str = PASSWORD) -> tuple[str, str]:
    status, headers, body = authenticate(suite, address, password)
    assert status == 200, body
    return body["access_token"], cookie_from(headers)


def test_a_password_reset_ends_every_session_and_answers_alike_for_strangers(suite):
    address = "e2e.life.reset@example.com"
    active_account(suite, address)
    access, cookie = signed_in(suite, address)
    status, headers, _ = refresh(suite, cookie)
    assert status == 200  # the session works before the reset
    cookie = cookie_from(headers)

    mine = post(suite, "/v1/users/password-reset/request", {"username": address})
    nobody = post(suite, "/v1/users/password-reset/request", {"username": "e2e.nobody@x.com"})
    assert mine[0] == nobody[0] == 200
    assert mine[2] == nobody[2]  # nothing tells whether the account exists
    code = email_code(suite, address, 2)

    status, _, body = post(
        suite,
        "/v1/users/password-reset/confirm",
        {"username": address, "otp": code, "new_password": NEW_PASSWORD},
    )
    assert status == 200, body
    status, _, body = refresh(suite, cookie)
    assert (status, body["code"]) == (401, "refresh_token_invalid")
    status, _, body = call(f"{suite.gateway_url}/v1/sessions", Authorization=f"Bearer {access}")
    assert (status, body["code"]) == (401, "token_invalid")
    status, _, body = authenticate(suite, address, PASSWORD)
    assert (status, body["code"]) == (401, "invalid_credentials")
    signed_in(suite, address, NEW_PASSWORD)
    notice = suite.mail.wait_for(to=address, count=3, timeout=20)[-1]
    assert "password" in str(notice["Subject"]).lower()

    again = post(
        suite,
        "/v1/users/password-reset/confirm",
        {"username": address, "otp": code, "new_password": "yetAnotherPassword789!"},
    )
    assert again[0] in (400, 409)  # a code works once


def test_an_email_change_swaps_the_sign_in_address(suite):
    old, new = "e2e.life.old@example.com", "e2e.life.new@example.com"
    active_account(suite, old)
    access, _ = signed_in(suite, old)
    status, _, body = post(suite, "/v1/users/me/email", {"email": new}, token=access)
    assert status == 200, body
    code = email_code(suite, new, 1)
    notice = suite.mail.wait_for(to=old, count=2, timeout=20)[-1]
    assert new not in notice.get_body(preferencelist=("plain",)).get_content()

    status, _, body = post(suite, "/v1/users/me/email/confirm", {"otp": code}, token=access)
    assert (status, body["email"]) == (200, new)
    status, _, body = authenticate(suite, old)
    assert (status, body["code"]) == (401, "invalid_credentials")
    access, _ = signed_in(suite, new)
    status, _, me = call(f"{suite.gateway_url}/v1/users/me", Authorization=f"Bearer {access}")
    assert [c["value"] for c in me["credentials"]] == [new]


def test_a_password_change_keeps_this_session_and_ends_the_others(suite):
    address = "e2e.life.change@example.com"
    active_account(suite, address)
    other_device = dict(DEVICE)
    _, other_cookie = signed_in(suite, address)
    DEVICE["X-Device-ID"] = f"{DEVICE['X-Device-ID']}-b"
    access, cookie = signed_in(suite, address)

    status, _, body = call(
        f"{suite.gateway_url}/v1/users/me/password",
        "PUT",
        json.dumps({"current_password": PASSWORD, "new_password": NEW_PASSWORD}).encode(),
        **{"Content-Type": "application/json", "Authorization": f"Bearer {access}", **DEVICE},
    )
    assert status == 200, body
    status, _, _ = refresh(suite, cookie)
    assert status == 200  # this device stays signed in
    status, _, body = call(
        f"{suite.gateway_url}/v1/refresh-token",
        "POST",
        b"",
        **{"Cookie": f"{COOKIE}={other_cookie}", **other_device},
    )
    assert (status, body["code"]) == (401, "refresh_token_invalid")
