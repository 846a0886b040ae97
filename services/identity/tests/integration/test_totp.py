"""Authenticator apps: setup, confirm, codes at sign-in, removal; against real PostgreSQL."""

import base64
import time
import urllib.parse

import pyotp

from .test_credentials_and_mfa import INTERNAL, bearer, email, phone, with_sms_mfa


async def set_up(identity, token: str):
    return await identity.client.post("/v1/users/totp/setup", headers=bearer(token))


async def confirm(identity, token: str, otp: str):
    return await identity.client.post(
        "/v1/users/totp/confirm", json={"otp": otp}, headers=bearer(token)
    )


async def check(identity, user_id, otp: str):
    return await identity.client.post(
        "/internal/v1/totp/verify", json={"user_id": str(user_id), "otp": otp}, headers=INTERNAL
    )


def later(secret: str, steps: int = 1) -> str:
    """The code the app will show `steps` steps from now (still inside the ±1 window)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


async def with_totp(identity) -> tuple[object, str, str]:
    """A user with a confirmed app: (user id, access token, secret)."""
    address = email()
    user_id = identity.active_user(address)
    token = identity.access_token(user_id)
    secret = (await set_up(identity, token)).json()["secret"]
    assert (await confirm(identity, token, pyotp.TOTP(secret).now())).status_code == 200
    return user_id, token, secret


async def test_setup_answers_the_secret_its_uri_and_a_qr_code_and_seals_the_secret(identity):
    address = email()
    user_id = identity.active_user(address)
    answer = await set_up(identity, identity.access_token(user_id))
    assert answer.status_code == 200
    body = answer.json()
    secret = body["secret"]
    assert len(secret) == 32
    uri = urllib.parse.urlparse(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(uri.path) == f"/Tessera:{address}"
    query = urllib.parse.parse_qs(uri.query)
    assert (query["secret"], query["issuer"]) == ([secret], ["Tessera"])
    prefix = "data:image/svg+xml;base64,"
    assert body["qr_code"].startswith(prefix)
    assert base64.b64decode(body["qr_code"][len(prefix) :]).lstrip().startswith(b"<svg")
    sealed = bytes(
        identity.scalar("SELECT secret_sealed FROM totp_secrets WHERE user_id = %s", user_id)
    )
    assert secret.encode() not in sealed
    assert base64.b32decode(secret) not in sealed
    assert identity.scalar("SELECT key_id FROM totp_secrets WHERE user_id = %s", user_id) == "k1"
    # Not on yet: nothing changes until the first code confirms it.
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "none"


async def test_confirming_makes_totp_the_mode_and_hands_out_recovery_codes(identity):
    user_id = identity.active_user(email())
    token = identity.access_token(user_id)
    secret = (await set_up(identity, token)).json()["secret"]
    wrong = await confirm(identity, token, "000000" if later(secret, 0) != "000000" else "111111")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")
    answer = await confirm(identity, token, pyotp.TOTP(secret).now())
    assert answer.status_code == 200
    assert answer.json()["mfa_mode"] == "totp"
    assert len(answer.json()["recovery_codes"]) == 10
    me = (await identity.client.get("/v1/users/me", headers=bearer(token))).json()
    assert me["mfa_mode"] == "totp"
    assert me["totp"]["enabled"] is True
    assert me["totp"]["confirmed_at"]
    again = await set_up(identity, token)
    assert (again.status_code, again.json()["code"]) == (409, "totp_already_enabled")


async def test_a_totp_code_cannot_be_used_twice_nor_an_older_one_after_a_newer(identity):
    user_id, _, secret = await with_totp(identity)
    current = pyotp.TOTP(secret).now()
    replay = await check(identity, user_id, current)  # the code that confirmed the app
    assert (replay.status_code, replay.json()["code"]) == (409, "otp_used")
    assert (await check(identity, user_id, later(secret))).status_code == 200
    replay = await check(identity, user_id, later(secret))
    assert (replay.status_code, replay.json()["code"]) == (409, "otp_used")
    wrong = await check(identity, user_id, "12345")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")


async def test_removing_the_app_needs_a_current_code_and_mfa_falls_back(identity):
    user_id, number, _ = await with_sms_mfa(identity)
    token = identity.access_token(user_id)
    secret = (await set_up(identity, token)).json()["secret"]
    confirmed = await confirm(identity, token, pyotp.TOTP(secret).now())
    assert confirmed.json() == {"mfa_mode": "totp"}  # MFA was on already: no new codes
    missing = await identity.client.delete("/v1/users/totp", headers=bearer(token))
    assert (missing.status_code, missing.json()["code"]) == (403, "step_up_required")
    wrong = await identity.client.delete(
        "/v1/users/totp", headers={**bearer(token), "x-otp": "99999x"}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")
    answer = await identity.client.delete(
        "/v1/users/totp", headers={**bearer(token), "x-otp": later(secret)}
    )
    assert answer.status_code == 200
    assert answer.json() == {"mfa_mode": "sms"}  # email + phone: the automatic mode
    assert identity.scalar("SELECT count(*) FROM totp_secrets WHERE user_id = %s", user_id) == 0
    gone = await check(identity, user_id, later(secret))
    assert (gone.status_code, gone.json()["code"]) == (409, "totp_not_enabled")
    assert number  # the phone stays the factor


async def test_a_challenge_token_enrols_only_a_user_who_has_no_second_factor(identity):
    user_id = identity.active_user(email())
    token = identity.challenge_token(user_id, "totp")
    answer = await set_up(identity, token)
    assert answer.status_code == 200
    confirmed = await confirm(identity, token, pyotp.TOTP(answer.json()["secret"]).now())
    assert confirmed.json()["mfa_mode"] == "totp"

    protected = identity.active_user(email(), phone=phone(), mfa_mode="sms")
    for mode in ("sms", "totp"):
        refused = await set_up(identity, identity.challenge_token(protected, mode))
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert identity.scalar("SELECT count(*) FROM totp_secrets WHERE user_id = %s", protected) == 0
    forged = await set_up(identity, token[:-4] + "AAAA")
    assert (forged.status_code, forged.json()["code"]) == (401, "token_invalid")


async def use_recovery(identity, user_id, code: str):
    return await identity.client.post(
        "/internal/v1/recovery-codes/use",
        json={"user_id": str(user_id), "code": code},
        headers=INTERNAL,
    )


async def test_wrong_second_factor_codes_are_counted_per_account_across_sign_ins(identity):
    address = email()
    user_id = identity.active_user(address)
    token = identity.access_token(user_id)
    secret = (await set_up(identity, token)).json()["secret"]
    recovery = (await confirm(identity, token, pyotp.TOTP(secret).now())).json()["recovery_codes"]
    # Each call stands for a guess in a new MFA challenge (a new sign-in with the password).
    for _ in range(3):
        wrong = await check(identity, user_id, "12345")
        assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")
    for _ in range(2):
        wrong = await use_recovery(identity, user_id, "WRONG-CODE")
        assert (wrong.status_code, wrong.json()["code"]) == (400, "recovery_code_invalid")

    refused = await check(identity, user_id, later(secret))  # the right code, too late
    assert (refused.status_code, refused.json()["code"]) == (429, "mfa_attempts_exceeded")
    assert 0 < int(refused.headers["retry-after"]) <= 900
    refused = await use_recovery(identity, user_id, recovery[0])
    assert (refused.status_code, refused.json()["code"]) == (429, "mfa_attempts_exceeded")
    assert (
        identity.scalar(
            "SELECT count(*) FROM recovery_codes WHERE user_id = %s AND used_at IS NOT NULL",
            user_id,
        )
        == 0
    )
    assert (
        identity.scalar("SELECT failures FROM second_factor_throttle WHERE user_id = %s", user_id)
        == 5
    )

    identity.execute(
        "UPDATE second_factor_throttle SET window_started_at = now() - interval '901 seconds'"
    )
    assert (await check(identity, user_id, later(secret))).status_code == 200
    assert (
        identity.scalar("SELECT count(*) FROM second_factor_throttle WHERE user_id = %s", user_id)
        == 0
    )  # a right code starts the count again


async def test_a_right_second_factor_code_resets_the_count_of_wrong_ones(identity):
    user_id, _, secret = await with_totp(identity)
    for _ in range(4):
        assert (await check(identity, user_id, "12345")).status_code == 400
    assert (await check(identity, user_id, later(secret))).status_code == 200
    for _ in range(5):  # counted from zero again: five more wrong codes are checked
        assert (await check(identity, user_id, "12345")).status_code == 400
    refused = await check(identity, user_id, "12345")
    assert (refused.status_code, refused.json()["code"]) == (429, "mfa_attempts_exceeded")
