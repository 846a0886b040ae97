"""Self-registration as a client does it: through the gateway, with an API key, reading the
code from what identity hands to delivery (the JetStream stream)."""

import asyncio
import uuid

import psycopg
import pytest

from tessera_shared.testing.events import wait_for_event

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


def code_for(suite, recipient: str) -> str:
    event = asyncio.run(
        wait_for_event(
            suite.env["TESSERA_OTP_NATS_URL"],
            suite.env["TESSERA_OTP_STREAM_NAME"],
            lambda e: e.recipient == recipient and e.kind == "registration_code",
        )
    )
    assert event.code is not None
    return event.code


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
