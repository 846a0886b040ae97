"""Sessions as a client lives them, through the gateway: sign in, refresh, log out."""

import json
from concurrent.futures import ThreadPoolExecutor

from .test_foundation import call
from .test_registration import PASSWORD, code_for, post, registration

DEVICE = {"X-Device-ID": "e2e-phone-1", "X-App-ID": "web-app"}
COOKIE = "tessera_rt_web-app"


def active_account(suite, address: str) -> str:
    _, _, body = post(suite, "/v1/users/initiate-registration", registration(address))
    code = code_for(suite, address)
    verification = json.dumps(
        {"user_id": body["user_id"], "credential_type": "email", "otp": code}
    ).encode()
    status, _, _ = post(suite, "/v1/users/verify-registration", verification)
    assert status == 200
    return str(body["user_id"])


def cookie_from(headers: dict[str, str]) -> str:
    first = headers["set-cookie"].split(";", 1)[0]
    name, _, value = first.partition("=")
    assert name == COOKIE
    return value


def authenticate(suite, username: str, password: str = PASSWORD, device: dict | None = None):
    body = json.dumps({"username": username, "password": password}).encode()
    return call(
        f"{suite.gateway_url}/v1/authenticate",
        "POST",
        body,
        **{"Content-Type": "application/json", **(device or DEVICE)},
    )


def refresh(suite, cookie: str, language: str = "en"):
    return call(
        f"{suite.gateway_url}/v1/refresh-token",
        "POST",
        b"",
        **{"Cookie": f"{COOKIE}={cookie}", "Accept-Language": language, **DEVICE},
    )


def sessions(suite, access_token: str):
    return call(f"{suite.gateway_url}/v1/sessions", Authorization=f"Bearer {access_token}")


def test_sign_in_refresh_twice_log_out_and_everything_old_is_refused(suite):
    user_id = active_account(suite, "e2e.session@example.com")

    status, headers, body = authenticate(suite, "E2E.Session@example.com")
    assert status == 200
    assert set(body) == {"access_token", "expires_in", "user_id"}
    assert (body["expires_in"], body["user_id"]) == (899, user_id)
    assert "HttpOnly" in headers["set-cookie"]
    assert "Path=/v1/refresh-token" in headers["set-cookie"]
    first_cookie, first_access = cookie_from(headers), body["access_token"]

    status, headers, body = refresh(suite, first_cookie)
    assert status == 200
    second_cookie = cookie_from(headers)
    status, headers, body = refresh(suite, second_cookie)
    assert status == 200
    third_cookie, access = cookie_from(headers), body["access_token"]
    assert len({first_cookie, second_cookie, third_cookie}) == 3  # each refresh rotates

    status, _, listed = sessions(suite, access)
    assert status == 200
    assert [s["device_id"] for s in listed["sessions"]] == ["e2e-phone-1"]

    status, headers, body = call(
        f"{suite.gateway_url}/v1/logout",
        "POST",
        b"",
        **{"Authorization": f"Bearer {access}", "Accept-Language": "de", **DEVICE},
    )
    assert (status, body) == (200, {"status": 200, "message": "Erfolgreich abgemeldet"})
    assert "Max-Age=0" in headers["set-cookie"]

    status, _, body = refresh(suite, third_cookie, "it")
    assert (status, body["code"]) == (401, "refresh_token_invalid")
    for token in (access, first_access):
        status, _, body = sessions(suite, token)
        assert status == 401
        assert body["code"] == "token_invalid"


def test_a_wrong_password_gets_no_token_and_no_cookie(suite):
    active_account(suite, "e2e.wrongpw@example.com")
    status, headers, body = authenticate(suite, "e2e.wrongpw@example.com", "not the password")
    assert (status, body["code"]) == (401, "invalid_credentials")
    assert "set-cookie" not in {k.lower() for k in headers}


def test_eight_parallel_correct_sign_ins_all_succeed_and_leave_the_account_unlocked(suite):
    active_account(suite, "e2e.parallel@example.com")
    devices = [{"X-Device-ID": f"e2e-parallel-{i}", "X-App-ID": "web-app"} for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda device: authenticate(suite, "e2e.parallel@example.com", device=device),
                devices,
            )
        )
    assert [status for status, _, _ in answers] == [200] * 8, [body for _, _, body in answers]
    status, _, _ = authenticate(suite, "e2e.parallel@example.com")
    assert status == 200  # not locked after


def test_the_public_keys_are_published_through_the_gateway(suite):
    status, headers, body = call(f"{suite.gateway_url}/.well-known/jwks.json")
    assert status == 200
    assert "max-age" in headers["cache-control"]
    assert body["keys"][0]["kty"] == "OKP"
    assert body["keys"][0]["crv"] == "Ed25519"
