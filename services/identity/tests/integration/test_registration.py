"""Registration through the identity API, against real PostgreSQL and NATS."""

import uuid

import pytest

from tessera_shared.testing.events import wait_for_event

GUIDE_MESSAGE = (
    "We've sent a verification code to your email. Please check and enter the code to "
    "complete your registration."
)
PASSWORD = "securePassword123!"


def body(value: str, kind: str = "email", **extra: object) -> dict[str, object]:
    return {
        "credential_type": kind,
        "credential_value": value,
        "password": PASSWORD,
        "terms_accepted": True,
        "privacy_policy_accepted": True,
        **extra,
    }


async def register(identity, value: str, kind: str = "email", language: str = "en"):
    return await identity.client.post(
        "/v1/users/initiate-registration",
        json=body(value, kind),
        headers={"accept-language": language, "x-forwarded-for": "203.0.113.7"},
    )


async def verify(identity, user_id: str, otp: str, kind: str = "email"):
    return await identity.client.post(
        "/v1/users/verify-registration",
        json={"user_id": user_id, "credential_type": kind, "otp": otp},
    )


async def test_registering_by_email_answers_as_the_guide_shows_and_sends_a_code(identity):
    answer = await register(identity, "  Jane.Smith@Example.com ")
    assert answer.status_code == 200
    assert answer.json() == {"message": GUIDE_MESSAGE, "user_id": answer.json()["user_id"]}
    user_id = uuid.UUID(answer.json()["user_id"])
    event = await identity.event("jane.smith@example.com", "registration_code")
    assert event.channel == "email"
    assert event.user_id == str(user_id)
    assert len(event.code) == 6
    assert event.code.isdigit()
    assert identity.scalar("SELECT status FROM users WHERE id = %s", user_id) == "pending"
    stored = identity.scalar("SELECT code_hash FROM otp_codes WHERE user_id = %s", user_id)
    assert event.code.encode() not in bytes(stored)  # only a keyed hash is stored
    assert identity.scalar("SELECT password_hash FROM users WHERE id = %s", user_id).startswith(
        "$argon2id$"
    )


async def test_the_code_activates_the_account(identity):
    user_id = (await register(identity, "active@example.com")).json()["user_id"]
    code = (await identity.event("active@example.com", "registration_code")).code
    answer = await verify(identity, user_id, code)
    assert answer.status_code == 200
    assert answer.json() == {
        "message": "Your account has been successfully verified and activated.",
        "status": "success",
    }
    assert identity.scalar("SELECT status FROM users WHERE id = %s", user_id) == "active"
    assert identity.scalar(
        "SELECT verified_at IS NOT NULL FROM credentials WHERE user_id = %s", user_id
    )


async def test_registering_by_phone_stores_e164_and_texts_the_code_in_the_users_language(identity):
    answer = await register(identity, "+41 79 123 45 67", "phone", "de-CH, en;q=0.5")
    assert answer.status_code == 200
    assert answer.json()["message"].startswith("Wir haben Ihnen einen Bestätigungscode per SMS")
    event = await identity.event("+41791234567", "registration_code")
    assert event.channel == "sms"
    assert event.locale == "de"
    user_id = answer.json()["user_id"]
    assert identity.scalar("SELECT locale FROM users WHERE id = %s", user_id) == "de"
    assert (await verify(identity, user_id, event.code, "phone")).status_code == 200


async def test_wrong_expired_reused_and_over_tried_codes_fail_with_distinct_codes(identity):
    first = (await register(identity, "codes@example.com")).json()["user_id"]
    code = (await identity.event("codes@example.com", "registration_code")).code
    wrong = "000000" if code != "000000" else "111111"

    answer = await verify(identity, first, wrong)
    assert (answer.status_code, answer.json()["code"]) == (400, "otp_invalid")

    identity.execute(
        "UPDATE otp_codes SET expires_at = now() - interval '1 second' WHERE user_id = %s", first
    )
    answer = await verify(identity, first, code)
    assert (answer.status_code, answer.json()["code"]) == (400, "otp_expired")

    identity.execute("UPDATE otp_codes SET expires_at = now() + interval '5 minutes'")
    assert (await verify(identity, first, code)).status_code == 200
    answer = await verify(identity, first, code)
    assert (answer.status_code, answer.json()["code"]) == (409, "otp_used")

    second = (await register(identity, "tries@example.com")).json()["user_id"]
    code = (await identity.event("tries@example.com", "registration_code")).code
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (await verify(identity, second, wrong)).json()["code"] == "otp_invalid"
    answer = await verify(identity, second, code)  # right code, but the code is dead
    assert (answer.status_code, answer.json()["code"]) == (400, "otp_attempts_exceeded")
    assert identity.scalar("SELECT status FROM users WHERE id = %s", second) == "pending"


async def test_an_unknown_user_id_is_just_a_wrong_code(identity):
    answer = await verify(identity, str(uuid.uuid4()), "123456")
    assert (answer.status_code, answer.json()["code"]) == (400, "otp_invalid")


async def test_registering_a_taken_address_looks_like_a_new_registration(identity):
    owner = (await register(identity, "owner@example.com")).json()["user_id"]
    code = (await identity.event("owner@example.com", "registration_code")).code
    await verify(identity, owner, code)
    users_before = identity.scalar("SELECT count(*) FROM users")

    answer = await register(identity, "OWNER@example.com", language="fr")
    assert answer.status_code == 200
    assert set(answer.json()) == {"message", "user_id"}
    assert answer.json()["message"].startswith("Nous vous avons envoyé un code de vérification")
    assert answer.json()["user_id"] != owner
    assert identity.scalar("SELECT count(*) FROM users") == users_before
    notice = await identity.event("owner@example.com", "registration_notice")
    assert notice.code is None
    assert notice.user_id == owner
    # The decoy id behaves like any wrong code.
    assert (await verify(identity, answer.json()["user_id"], code)).json()["code"] == "otp_invalid"


async def test_registering_again_while_pending_replaces_the_pending_registration(identity):
    first = (await register(identity, "twice@example.com")).json()["user_id"]
    second = (await register(identity, "twice@example.com")).json()["user_id"]
    assert first != second
    assert identity.scalar("SELECT count(*) FROM users WHERE id = %s", first) == 0
    assert identity.scalar("SELECT status FROM users WHERE id = %s", second) == "pending"


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("terms_accepted", "terms_not_accepted"),
        ("privacy_policy_accepted", "privacy_policy_not_accepted"),
    ],
)
async def test_terms_and_privacy_must_be_accepted(identity, field, code):
    answer = await identity.client.post(
        "/v1/users/initiate-registration",
        json=body("terms@example.com", **{field: False}),
        headers={"accept-language": "it"},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == code
    assert answer.json()["details"] == [
        {"field": field, "code": "must_be_true", "message": "Questo deve essere accettato."}
    ]
    assert identity.scalar("SELECT count(*) FROM users") == 0


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "password_too_short"),
        ("x" * 129, "password_too_long"),
        ("          ", "password_blank"),
        ("password123", "password_too_common"),
    ],
)
async def test_a_rejected_password_says_why(identity, password, code):
    answer = await identity.client.post(
        "/v1/users/initiate-registration",
        json={**body("pw@example.com"), "password": password},
        headers={"accept-language": "de"},
    )
    assert (answer.status_code, answer.json()["code"]) == (422, code)
    assert answer.json()["message"].startswith(("Das Passwort", "Dieses Passwort"))


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("email", "not-an-address", "invalid_email"),
        ("phone", "0791234567", "invalid_phone"),
        ("phone", "+41 12", "invalid_phone"),
    ],
)
async def test_an_invalid_address_is_refused(identity, kind, value, code):
    answer = await register(identity, value, kind)
    assert (answer.status_code, answer.json()["code"]) == (422, code)


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"\xff\xfe\x00",
        b'{"credential_type": 5, "credential_value": [], "password": null}',
        b'{"credential_type": "fax", "credential_value": "x", "password": "y",'
        b' "terms_accepted": true, "privacy_policy_accepted": true}',
        b'{"credential_type": "email", "credential_value": "' + b"a" * 5000 + b'@x.io",'
        b' "password": "y", "terms_accepted": true, "privacy_policy_accepted": true}',
        b"[]",
        b"",
    ],
)
async def test_malformed_bodies_are_4xx_and_leave_nothing_behind(identity, raw):
    answer = await identity.client.post(
        "/v1/users/initiate-registration",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert 400 <= answer.status_code < 500
    assert answer.json()["code"] in {"invalid_json", "validation_failed"}
    assert identity.scalar("SELECT count(*) FROM users") == 0


async def test_resend_has_a_cooldown_then_replaces_the_code(identity):
    user_id = (await register(identity, "resend@example.com")).json()["user_id"]
    first = await identity.event("resend@example.com", "registration_code")
    old = first.code
    request = {"user_id": user_id, "credential_type": "email"}
    answer = await identity.client.post("/v1/users/resend-code", json=request)
    assert (answer.status_code, answer.json()["code"]) == (429, "resend_too_soon")
    assert 0 < int(answer.headers["retry-after"]) <= 60

    identity.execute("UPDATE code_requests SET created_at = created_at - interval '2 minutes'")
    answer = await identity.client.post("/v1/users/resend-code", json=request)
    assert answer.status_code == 200
    assert answer.json() == {"message": GUIDE_MESSAGE, "user_id": user_id}
    second = await wait_for_event(
        identity.nats_url,
        identity.settings.stream_name,
        lambda e: e.recipient == "resend@example.com" and e.id != first.id,
    )
    if second.code != old:  # one in a million they are equal
        assert (await verify(identity, user_id, old)).json()["code"] == "otp_invalid"
    assert (await verify(identity, user_id, second.code)).status_code == 200


async def test_resend_for_an_unknown_id_answers_the_same_and_sends_nothing(identity):
    unknown = str(uuid.uuid4())
    answer = await identity.client.post(
        "/v1/users/resend-code", json={"user_id": unknown, "credential_type": "email"}
    )
    assert answer.status_code == 200
    assert answer.json() == {"message": GUIDE_MESSAGE, "user_id": unknown}
    assert identity.scalar("SELECT count(*) FROM outbox") == 0


async def test_a_resend_right_after_registering_a_taken_address_waits_like_a_new_one(identity):
    owner = (await register(identity, "taken@example.com")).json()["user_id"]
    code = (await identity.event("taken@example.com", "registration_code")).code
    await verify(identity, owner, code)
    identity.execute("UPDATE code_requests SET created_at = created_at - interval '2 minutes'")

    answers = []
    for address in ("taken@example.com", "fresh@example.com"):
        user_id = (await register(identity, address)).json()["user_id"]
        request = {"user_id": user_id, "credential_type": "email"}
        answers.append(await identity.client.post("/v1/users/resend-code", json=request))

    taken, fresh = answers
    assert (fresh.status_code, fresh.json()["code"]) == (429, "resend_too_soon")
    assert (taken.status_code, taken.json()["code"]) == (429, "resend_too_soon")
    assert 0 < int(taken.headers["retry-after"]) <= 60


async def test_an_unknown_id_follows_the_resend_cool_down_of_a_real_registration(identity):
    request = {"user_id": str(uuid.uuid4()), "credential_type": "email"}
    first = await identity.client.post("/v1/users/resend-code", json=request)
    assert first.status_code == 200
    again = await identity.client.post("/v1/users/resend-code", json=request)
    assert (again.status_code, again.json()["code"]) == (429, "resend_too_soon")
    assert 0 < int(again.headers["retry-after"]) <= 60
    identity.execute("UPDATE code_requests SET created_at = created_at - interval '2 minutes'")
    assert (await identity.client.post("/v1/users/resend-code", json=request)).status_code == 200
    assert identity.scalar("SELECT count(*) FROM outbox") == 0  # nothing is ever sent


async def test_codes_to_one_address_are_capped_per_hour(identity):
    for _ in range(5):
        assert (await register(identity, "capped@example.com")).status_code == 200
    answer = await register(identity, "capped@example.com")
    assert (answer.status_code, answer.json()["code"]) == (429, "too_many_codes")
    assert answer.headers["retry-after"] == "3600"
