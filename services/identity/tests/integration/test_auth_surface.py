"""The identity half of the `/auth` surface (guides 002, 003) and the email change, against
real PostgreSQL and NATS."""

import time

import pyotp

from .test_credentials_and_mfa import INTERNAL, bearer, email, phone

PASSWORD = "securePassword123!"


def register_body(address: str, **changes: object) -> dict[str, object]:
    return {
        "email": address,
        "password": PASSWORD,
        "termsAccepted": True,
        "privacyPolicyAccepted": True,
        **changes,
    }


async def sign_in(identity, username: str, password: str = PASSWORD):
    return await identity.client.post(
        "/internal/v1/password/verify",
        json={"username": username, "password": password, "user_agent": "Pixel/9 TesseraApp"},
        headers=INTERNAL,
    )


async def status_of(identity, user_id) -> dict:
    """The status object, read through the one route that answers it without side effects."""
    answer = await identity.client.post(
        "/auth/enable-mfa", headers=bearer(identity.access_token(user_id))
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_an_auth_registration_signs_in_at_once_and_verifies_its_email_later(identity):
    address = email()
    answer = await identity.client.post(
        "/auth/register", json=register_body(address.upper()), headers={"accept-language": "fr"}
    )
    assert answer.status_code == 200
    user_id = answer.json()["userId"]
    assert answer.json()["message"].startswith("Votre compte a été créé.")
    code = (await identity.event(address, "credential_code")).code

    signed = await sign_in(identity, address)
    assert signed.status_code == 200, signed.text
    assert signed.json()["user_id"] == user_id
    headers = bearer(identity.access_token(user_id))
    verified = await identity.client.post(
        "/auth/otp/code", json={"channel": "email"}, headers={**headers, "x-otp": code}
    )
    assert verified.status_code == 200, verified.text
    status = verified.json()
    assert status["hasValidatedEmail"] is True
    assert status["email"] == f"{address[0]}***{address.split('@')[0][-1]}@example.com"
    assert status["lastLoggedDevice"] == "Pixel/9 TesseraApp"
    assert status["status"] == "active"
    assert {"lastLoggedDate", "lastPasswordChangeDate", "emailVerificationDate"} <= set(status)
    assert status["hasValidatedPhone"] is False
    assert "phoneNumber" not in status


async def test_registering_an_address_in_use_answers_alike_and_tells_its_owner(identity):
    address = email()
    first = await identity.client.post("/auth/register", json=register_body(address))
    again = await identity.client.post("/auth/register", json=register_body(address))
    assert (first.status_code, again.status_code) == (200, 200)
    assert set(first.json()) == set(again.json())
    assert first.json()["message"] == again.json()["message"]
    await identity.event(address, "registration_notice")
    accounts = identity.scalar(
        "SELECT count(*) FROM credentials WHERE type = 'email' AND value = %s", address
    )
    assert accounts == 1
    assert identity.scalar("SELECT count(*) FROM users WHERE id = %s", again.json()["userId"]) == 0


async def test_auth_registration_needs_consent_and_a_good_password(identity):
    refused = await identity.client.post(
        "/auth/register", json=register_body(email(), termsAccepted=False)
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "terms_not_accepted")
    weak = await identity.client.post("/auth/register", json=register_body(email(), password="x"))
    assert (weak.status_code, weak.json()["code"]) == (422, "password_too_short")


async def test_a_phone_method_takes_a_national_number_and_its_country_and_shows_obfuscated(
    identity,
):
    user_id = identity.active_user(email())
    headers = bearer(identity.access_token(user_id))
    added = await identity.client.post(
        "/auth/otp/methods/sms", json={"phone": "079 555 44 33", "country": "CH"}, headers=headers
    )
    assert added.status_code == 200, added.text
    assert added.json()["phoneNumber"] == "+41*******33"
    assert added.json()["hasValidatedPhone"] is False
    first = (await identity.event("+41795554433", "credential_code")).code

    resent = await identity.client.get("/auth/otp/code?method=sms", headers=headers)
    assert (resent.status_code, resent.json()["code"]) == (429, "resend_too_soon")
    verified = await identity.client.post(
        "/auth/otp/code", json={"channel": "sms"}, headers={**headers, "x-otp": first}
    )
    assert verified.status_code == 200
    body = verified.json()
    assert body["hasValidatedPhone"] is True
    assert len(body["recoveryCodes"]) == 10  # the second method turned MFA on
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "sms"
    again = await identity.client.get("/auth/otp/code?method=sms", headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "credential_already_verified")


async def test_a_totp_method_is_created_validated_with_x_otp_and_deleted_with_a_current_code(
    identity,
):
    user_id = identity.active_user(email())
    headers = bearer(identity.access_token(user_id))
    created = await identity.client.post("/auth/otp/methods/totp", headers=headers)
    assert created.status_code == 200
    body = created.json()
    assert body["hasValidatedSecret"] is False
    assert body["otpauthUri"].startswith("otpauth://totp/")
    assert body["qrCode"].startswith("data:image/svg+xml;base64,")
    app = pyotp.TOTP(body["secret"])
    missing = await identity.client.post(
        "/auth/otp/code", json={"channel": "totp"}, headers=headers
    )
    assert (missing.status_code, missing.json()["code"]) == (403, "step_up_required")
    validated = await identity.client.post(
        "/auth/otp/code", json={"channel": "totp"}, headers={**headers, "x-otp": app.now()}
    )
    assert validated.status_code == 200
    assert validated.json()["hasValidatedSecret"] is True
    assert validated.json()["secretVerificationDate"]
    deleted = await identity.client.request(
        "DELETE", "/auth/otp/methods/totp", headers={**headers, "x-otp": app.now()}
    )
    assert (deleted.status_code, deleted.json()["code"]) == (409, "otp_used")
    deleted = await identity.client.request(
        "DELETE",
        "/auth/otp/methods/totp",
        headers={**headers, "x-otp": app.at(time.time() + 30)},
    )
    assert deleted.status_code == 200
    assert deleted.json()["hasValidatedSecret"] is False
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "none"


async def test_a_totp_secret_never_validated_is_deleted_with_a_current_code_of_it(identity):
    user_id = identity.active_user(email())
    headers = bearer(identity.access_token(user_id))
    created = await identity.client.post("/auth/otp/methods/totp", headers=headers)
    app = pyotp.TOTP(created.json()["secret"])

    missing = await identity.client.request("DELETE", "/auth/otp/methods/totp", headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (403, "step_up_required")
    wrong = await identity.client.request(
        "DELETE", "/auth/otp/methods/totp", headers={**headers, "x-otp": "000000"}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")
    assert identity.scalar("SELECT count(*) FROM totp_secrets WHERE user_id = %s", user_id) == 1

    deleted = await identity.client.request(
        "DELETE", "/auth/otp/methods/totp", headers={**headers, "x-otp": app.now()}
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["hasValidatedSecret"] is False
    assert identity.scalar("SELECT count(*) FROM totp_secrets WHERE user_id = %s", user_id) == 0
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "none"
    again = await identity.client.request(
        "DELETE", "/auth/otp/methods/totp", headers={**headers, "x-otp": app.now()}
    )
    assert (again.status_code, again.json()["code"]) == (409, "totp_not_enabled")


async def test_enable_mfa_gives_a_qr_code_then_turns_totp_on_with_the_first_code(identity):
    user_id = identity.active_user(email())
    headers = bearer(identity.access_token(user_id))
    setup = await identity.client.post("/auth/enable-mfa", headers=headers)
    assert setup.json()["qrCode"].startswith("data:image/svg+xml;base64,")
    code = pyotp.TOTP(setup.json()["secret"]).now()
    on = await identity.client.post("/auth/enable-mfa", json={"otp": code}, headers=headers)
    assert on.status_code == 200
    assert on.json()["hasValidatedSecret"] is True
    assert len(on.json()["recoveryCodes"]) == 10
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "totp"


async def test_changing_the_email_needs_the_code_sent_to_the_new_address(identity):
    old, new = email(), email()
    user_id = identity.active_user(old, password=PASSWORD)
    headers = bearer(identity.access_token(user_id))
    started = await identity.client.post("/v1/users/me/email", json={"email": new}, headers=headers)
    assert started.status_code == 200
    await identity.event(old, "email_change_notice")
    code = (await identity.event(new, "credential_code")).code
    assert (await sign_in(identity, new)).status_code == 401  # not before the code
    wrong = await identity.client.put(
        "/auth/update-email", json={"otp": f"{(int(code) + 1) % 10**6:06d}"}, headers=headers
    )
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")
    answer = await sign_in(identity, old)
    assert answer.status_code == 200, answer.text

    done = await identity.client.post(
        "/v1/users/me/email/confirm", json={"otp": code}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["email"] == new
    assert (await sign_in(identity, old)).json()["code"] == "invalid_credentials"
    assert (await sign_in(identity, new)).status_code == 200
    again = await identity.client.post(
        "/v1/users/me/email/confirm", json={"otp": code}, headers=headers
    )
    assert again.status_code == 400


async def test_an_email_another_account_verified_cannot_be_taken(identity):
    taken = email()
    identity.active_user(taken)
    user_id = identity.active_user(email(), phone=phone())
    answer = await identity.client.post(
        "/v1/users/me/email", json={"email": taken}, headers=bearer(identity.access_token(user_id))
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "credential_unavailable")
