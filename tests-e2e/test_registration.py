"""Self-registration as a client does it: through the gateway, with an API key, reading the
code from the email caught by a real SMTP server or the SMS caught by the provider's sink."""

import json
import re
import time
import uuid

import psycopg
import pytest

from .test_foundation import call

PASSWORD = "securePassword123!"


def registration(value: str, kind: str = "email") -> bytes:
    return (
        f'{{"credential_type": "{kind}", "credential_value": "{value}", '
        f'"password": "{PASSWORD}", "terms_accepted": true, "privacy_policy_accepted": true}}'
    ).encode()


def post(suite, path: str, body: bytes, language: str = "en", key: str | None = None):
    headers = {"Content-Type": "application/json", "Accept-Language": language}
    headers["X-API-Key"] = suite.api_key if key is None else key
    return call(f"{suite.gateway_url}{path}", "POST", body, **headers)


CODE = re.compile(r"\b(\d{6})\b")


def email_to(suite, address: str):
    [message] = suite.mail.wait_for(to=address, timeout=20)
    return message


def sms_to(suite, number: str, within: float = 20.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for request in suite.sms.received:
            body = json.loads(request.body)
            if body["to"] == number:
                return str(body["text"])
        time.sleep(0.1)
    raise AssertionError(f"no SMS to {number}")


def code_for(suite, recipient: str) -> str:
    if "@" in recipient:
        text = email_to(suite, recipient).get_body(preferencelist=("plain",)).get_content()
    else:
        text = sms_to(suite, recipient)
    found = CODE.search(text)
    assert found, text
    return found.group(1)


def status_of(suite, user_id: str) -> str:
    with psycopg.connect(suite.env["TESSERA_IDENTITY_DATABASE_URL"]) as conn:
        row = conn.execute("SELECT status FROM users WHERE id = %s", (user_id,)).fetchone()
    return str(row[0]) if row else "missing"


@pytest.mark.parametrize(
    ("kind", "typed", "stored", "language", "message"),
    [
        (
            "email",
            "E2E.Jane@Example.com",
            "e2e.jane@example.com",
            "en",
            "We've sent a verification code to your email. Please check and enter the code to "
            "complete your registration.",
        ),
        (
            "phone",
            "+41 79 765 43 21",
            "+41797654321",
            "it-CH",
            "Ti abbiamo inviato un codice di verifica via SMS. Inserisci il codice per completare "
            "la registrazione.",
        ),
    ],
)
def test_a_person_registers_and_activates_the_account_through_the_gateway(
    suite, kind, typed, stored, language, message
):
    status, _, body = post(
        suite, "/v1/users/initiate-registration", registration(typed, kind), language
    )
    assert status == 200
    assert body == {"message": message, "user_id": body["user_id"]}
    user_id = str(uuid.UUID(body["user_id"]))
    assert status_of(suite, user_id) == "pending"

    code = code_for(suite, stored)
    if kind == "email":
        assert email_to(suite, stored)["Subject"] == "Your Tessera verification code"
    else:
        assert sms_to(suite, stored).startswith(f"{code} è il tuo codice di verifica Tessera")
    verification = f'{{"user_id": "{user_id}", "credential_type": "{kind}", "otp": "{code}"}}'
    status, _, body = post(suite, "/v1/users/verify-registration", verification.encode())
    assert (status, body["status"]) == (200, "success")
    assert body["message"] == "Your account has been successfully verified and activated."
    assert status_of(suite, user_id) == "active"

    status, _, body = post(suite, "/v1/users/verify-registration", verification.encode())
    assert (status, body["code"]) == (409, "otp_used")


def test_a_wrong_code_is_refused_and_the_account_stays_pending(suite):
    _, _, body = post(
        suite, "/v1/users/initiate-registration", registration("e2e.wrong@example.com")
    )
    code = code_for(suite, "e2e.wrong@example.com")
    wrong = "000000" if code != "000000" else "111111"
    verification = (
        f'{{"user_id": "{body["user_id"]}", "credential_type": "email", "otp": "{wrong}"}}'
    )
    status, _, answer = post(suite, "/v1/users/verify-registration", verification.encode(), "de")
    assert (status, answer["code"]) == (400, "otp_invalid")
    assert answer["message"] == "Der Code ist nicht korrekt."
    assert status_of(suite, body["user_id"]) == "pending"


@pytest.mark.parametrize(
    ("key", "code"), [("", "api_key_missing"), ("tsk_wrong", "api_key_invalid")]
)
def test_registration_needs_a_valid_api_key(suite, key, code):
    status, _, body = post(
        suite, "/v1/users/initiate-registration", registration("e2e.nokey@example.com"), "fr", key
    )
    assert (status, body["code"]) == (401, code)


def test_the_email_comes_in_the_language_chosen_at_registration(suite):
    status, _, _ = post(
        suite, "/v1/users/initiate-registration", registration("e2e.de@example.com"), "de-CH"
    )
    assert status == 200
    message = email_to(suite, "e2e.de@example.com")
    assert message["Subject"] == "Ihr Tessera-Bestätigungscode"
    assert message["Content-Language"] == "de"
    assert message.is_multipart()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert CODE.search(html)
