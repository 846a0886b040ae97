"""Adding credentials, automatic 2FA, the MFA mode and recovery codes, against real servers."""

import uuid

import msgspec
import pytest

INTERNAL = {"x-internal-token": "internal-test-token"}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def phone() -> str:
    return f"+4179{uuid.uuid4().int % 10**7:07d}"


async def add(identity, user_id, kind: str, value: str, language: str = "en"):
    return await identity.client.post(
        "/v1/users/credentials",
        json={"type": kind, "value": value},
        headers={**bearer(identity.access_token(user_id)), "accept-language": language},
    )


async def verify(identity, user_id, kind: str, otp: str, as_user=None):
    return await identity.client.post(
        "/v1/users/verify-credential",
        json={"user_id": str(user_id), "credential_type": kind, "otp": otp},
        headers=bearer(identity.access_token(as_user or user_id)),
    )


async def with_sms_mfa(identity) -> tuple[uuid.UUID, str, list[str]]:
    """A user who added and verified a phone: (user id, number, recovery codes)."""
    user_id, number = identity.active_user(email()), phone()
    assert (await add(identity, user_id, "phone", number)).status_code == 200
    code = (await identity.event(number, "credential_code")).code
    answer = await verify(identity, user_id, "phone", code)
    assert answer.status_code == 200, answer.text
    return user_id, number, answer.json()["recovery_codes"]


async def test_adding_a_phone_stores_it_unverified_and_sends_a_code_to_it(identity):
    user_id = identity.active_user(email())
    answer = await add(identity, user_id, "phone", "+41 79 555 12 34", language="de")
    assert answer.status_code == 200
    assert answer.json()["credential_type"] == "phone"
    assert "Telefon" in answer.json()["message"]
    event = await identity.event("+41795551234", "credential_code")
    assert (event.channel, event.user_id) == ("sms", str(user_id))
    verified_at = identity.scalar(
        "SELECT verified_at FROM credentials WHERE user_id = %s AND type = 'phone'", user_id
    )
    assert verified_at is None
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "none"


async def test_verifying_the_second_credential_turns_on_sms_mfa_with_recovery_codes(identity):
    user_id, number, codes = await with_sms_mfa(identity)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "sms"
    stored = identity.scalar(
        "SELECT string_agg(encode(code_hash, 'escape'), ' ') FROM recovery_codes"
        " WHERE user_id = %s",
        user_id,
    )
    assert all(code not in stored and code.replace("-", "") not in stored for code in codes)
    me = await identity.client.get("/v1/users/me", headers=bearer(identity.access_token(user_id)))
    assert me.status_code == 200
    body = me.json()
    assert body["mfa_mode"] == "sms"
    assert body["available_mfa_modes"] == ["email", "none", "sms"]
    address = identity.scalar(
        "SELECT value FROM credentials WHERE user_id = %s AND type = 'email'", user_id
    )
    assert {(c["type"], c["value"], c["verified"]) for c in body["credentials"]} == {
        ("email", address, True),
        ("phone", number, True),
    }
    assert all(c["verified_at"] for c in body["credentials"])


async def test_verifying_the_other_users_credential_is_forbidden_and_changes_nothing(identity):
    user_id, intruder = identity.active_user(email()), identity.active_user(email())
    number = phone()
    await add(identity, user_id, "phone", number)
    code = (await identity.event(number, "credential_code")).code
    answer = await verify(identity, user_id, "phone", code, as_user=intruder)
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
    assert (
        identity.scalar(
            "SELECT verified_at FROM credentials WHERE user_id = %s AND type = 'phone'", user_id
        )
        is None
    )


async def test_an_address_verified_by_another_account_is_refused_without_saying_whose(identity):
    taken = email()
    identity.active_user(taken)
    user_id = identity.active_user(None, phone=phone())
    answer = await add(identity, user_id, "email", taken.upper())
    assert (answer.status_code, answer.json()["code"]) == (409, "credential_unavailable")
    assert str(user_id) not in answer.text
    rows = identity.scalar("SELECT count(*) FROM credentials WHERE user_id = %s", user_id)
    assert rows == 1


async def test_a_type_the_user_already_verified_is_refused(identity):
    user_id = identity.active_user(email())
    answer = await add(identity, user_id, "email", email())
    assert (answer.status_code, answer.json()["code"]) == (409, "credential_already_verified")


async def test_a_wrong_code_verifies_nothing_and_counts_as_an_attempt(identity):
    user_id, number = identity.active_user(email()), phone()
    await add(identity, user_id, "phone", number)
    code = (await identity.event(number, "credential_code")).code
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answer = await verify(identity, user_id, "phone", wrong)
    assert (answer.status_code, answer.json()["code"]) == (400, "otp_invalid")
    assert (
        identity.scalar(
            "SELECT attempts FROM otp_codes WHERE user_id = %s AND purpose = 'credential'", user_id
        )
        == 1
    )
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "none"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/v1/users/credentials", "post"),
        ("/v1/users/verify-credential", "post"),
        ("/v1/users/me", "get"),
        ("/v1/users/recovery-codes", "post"),
        ("/v1/users/totp", "delete"),
    ],
)
async def test_a_challenge_token_is_refused_on_every_route_but_totp_setup(identity, path, method):
    user_id = identity.active_user(email())
    token = identity.challenge_token(user_id, "totp")
    answer = await identity.client.request(method, path, headers=bearer(token), json={})
    assert (answer.status_code, answer.json()["code"]) == (401, "token_invalid")
    missing = await identity.client.request(method, path, json={})
    assert (missing.status_code, missing.json()["code"]) == (401, "unauthorized")


async def test_turning_mfa_off_needs_a_fresh_code_of_the_current_factor(identity):
    user_id, number, _ = await with_sms_mfa(identity)
    headers = bearer(identity.access_token(user_id))
    off = {"mfa_mode": "none"}
    answer = await identity.client.put("/v1/users/me/mfa", json=off, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (403, "step_up_required")

    sent = await identity.client.post("/v1/users/me/mfa/code", headers=headers)
    assert sent.status_code == 200
    assert sent.json() == {"channel": "sms", "expires_in": 600}
    code = (await identity.event(number, "security_code")).code
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answer = await identity.client.put(
        "/v1/users/me/mfa", json={**off, "otp": wrong}, headers=headers
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "otp_invalid")
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "sms"

    answer = await identity.client.put(
        "/v1/users/me/mfa", json={**off, "otp": code}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.json() == {"mfa_mode": "none"}
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "none"
    assert identity.scalar("SELECT count(*) FROM recovery_codes WHERE user_id = %s", user_id) == 0


async def test_switching_between_factors_the_user_has_needs_no_code(identity):
    user_id, _, _ = await with_sms_mfa(identity)
    headers = bearer(identity.access_token(user_id))
    answer = await identity.client.put(
        "/v1/users/me/mfa", json={"mfa_mode": "email"}, headers=headers
    )
    assert answer.json() == {"mfa_mode": "email"}  # no new recovery codes: MFA stayed on


async def test_a_mode_without_its_factor_is_refused(identity):
    user_id = identity.active_user(email())
    headers = bearer(identity.access_token(user_id))
    for mode in ("sms", "totp"):
        answer = await identity.client.put(
            "/v1/users/me/mfa", json={"mfa_mode": mode}, headers=headers
        )
        assert (answer.status_code, answer.json()["code"]) == (422, "mfa_factor_unavailable")
    answer = await identity.client.put(
        "/v1/users/me/mfa", json={"mfa_mode": "email"}, headers=headers
    )
    assert answer.status_code == 200
    assert len(answer.json()["recovery_codes"]) == 10  # MFA on for the first time


async def test_a_recovery_code_works_once_in_any_case_and_the_user_is_told(identity):
    user_id, _, codes = await with_sms_mfa(identity)
    typed = codes[3].upper().replace("-", " ")
    use = {"user_id": str(user_id), "code": typed, "client_ip": "203.0.113.9"}
    answer = await identity.client.post(
        "/internal/v1/recovery-codes/use", json=use, headers=INTERNAL
    )
    assert answer.status_code == 200
    again = await identity.client.post(
        "/internal/v1/recovery-codes/use", json=use, headers=INTERNAL
    )
    assert (again.status_code, again.json()["code"]) == (400, "recovery_code_invalid")
    contact = identity.scalar(
        "SELECT value FROM credentials WHERE user_id = %s AND type = 'email'", user_id
    )
    notice = await identity.event(contact, "recovery_code_used_notice")
    assert notice.code is None
    audited = identity.scalar(
        "SELECT ip FROM audit_events WHERE user_id = %s AND event = 'recovery_code_used'", user_id
    )
    assert audited == "203.0.113.9"
    used = identity.scalar(
        "SELECT count(*) FROM recovery_codes WHERE user_id = %s AND used_at IS NOT NULL", user_id
    )
    assert used == 1


async def test_new_recovery_codes_need_a_fresh_code_and_replace_the_old_set(identity):
    user_id, number, old = await with_sms_mfa(identity)
    headers = bearer(identity.access_token(user_id))
    answer = await identity.client.post("/v1/users/recovery-codes", json={}, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (403, "step_up_required")
    await identity.client.post("/v1/users/me/mfa/code", headers=headers)
    code = (await identity.event(number, "security_code")).code
    answer = await identity.client.post(
        "/v1/users/recovery-codes", json={"otp": code}, headers=headers
    )
    assert answer.status_code == 200
    new = answer.json()["recovery_codes"]
    assert len(new) == 10
    assert not set(new) & set(old)
    use = {"user_id": str(user_id), "code": old[0]}
    refused = await identity.client.post(
        "/internal/v1/recovery-codes/use", json=use, headers=INTERNAL
    )
    assert refused.json()["code"] == "recovery_code_invalid"
    use = {"user_id": str(user_id), "code": new[0]}
    accepted = await identity.client.post(
        "/internal/v1/recovery-codes/use", json=use, headers=INTERNAL
    )
    assert accepted.status_code == 200


async def test_a_recovery_code_for_a_lost_factor_turns_mfa_off_and_removes_the_app(identity):
    user_id, _, codes = await with_sms_mfa(identity)
    identity.execute(
        "INSERT INTO totp_secrets (user_id, key_id, secret_sealed, confirmed_at)"
        " VALUES (%s, 'k1', %s, now())",
        user_id,
        b"x" * 40,
    )
    use = {"user_id": str(user_id), "code": codes[0], "disable_mfa": True}
    answer = await identity.client.post(
        "/internal/v1/recovery-codes/use", json=use, headers=INTERNAL
    )
    assert answer.status_code == 200
    assert identity.scalar("SELECT mfa_mode FROM users WHERE id = %s", user_id) == "none"
    assert identity.scalar("SELECT count(*) FROM totp_secrets WHERE user_id = %s", user_id) == 0
    assert identity.scalar("SELECT count(*) FROM recovery_codes WHERE user_id = %s", user_id) == 0


async def test_me_answers_the_stored_account_to_the_byte(identity):
    """User, credentials (in the order added, with their exact verification times), an app
    being set up but not confirmed, and what MFA modes these allow."""
    user_id, number, _ = await with_sms_mfa(identity)
    identity.execute(
        "INSERT INTO totp_secrets (user_id, key_id, secret_sealed) VALUES (%s, 'k1', %s)",
        user_id,
        b"x" * 40,
    )
    identity.execute("UPDATE users SET name = 'Ada', locale = 'fr' WHERE id = %s", user_id)
    with identity.db() as conn:
        stored = conn.execute(
            "SELECT type, value, verified_at FROM credentials WHERE user_id = %s"
            " ORDER BY created_at",
            (user_id,),
        ).fetchall()
    assert [kind for kind, _, _ in stored] == ["email", "phone"]
    me = await identity.client.get("/v1/users/me", headers=bearer(identity.access_token(user_id)))
    assert me.status_code == 200
    assert me.content == msgspec.json.encode(
        {
            "user_id": user_id,
            "status": "active",
            "locale": "fr",
            "name": "Ada",
            "mfa_mode": "sms",
            "available_mfa_modes": ["email", "none", "sms"],
            "credentials": [
                {"type": kind, "value": value, "verified": True, "verified_at": at}
                for kind, value, at in stored
            ],
            "totp": {"enabled": False, "confirmed_at": None},
        }
    )
    assert stored[1][1] == number
