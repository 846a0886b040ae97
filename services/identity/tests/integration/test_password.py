"""Password reset and change through the identity API, against real PostgreSQL and NATS, with a
stand-in for the session service's revocation endpoint."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tessera_shared.devservers.ports import free_port

from .conftest import CHEAP_ARGON2, INTERNAL_TOKEN, Env, running

INTERNAL = {"x-internal-token": INTERNAL_TOKEN}
CLIENT_IP = "198.51.100.20"
PASSWORD = "securePassword123!"
NEW_PASSWORD = "another-Secret-42"
# As cheap as the suite's settings (8 MiB, one pass), so sign-ins do not re-hash it.
PASSWORD_HASH = CHEAP_ARGON2.hash(PASSWORD)
RESET_REQUESTED = (
    "If an account exists for this address, we've sent it a code to reset the password."
)


async def identity_app(
    postgres_url: str, nats_url: str, test_id: str, session_url: str
) -> AsyncIterator[Env]:
    async with running(
        postgres_url, nats_url, test_id, session_url=session_url, session_timeout_s=2.0
    ) as env:
        yield env


@pytest.fixture
def accounts(with_sessions: Env) -> Env:
    """Identity whose session service is the stand-in."""
    return with_sessions


@pytest.fixture
async def no_sessions(postgres_url: str, nats_url: str, test_id: str) -> AsyncIterator[Env]:
    """Identity whose session service is down (nothing listens at its address)."""
    async for env in identity_app(
        postgres_url, nats_url, test_id, f"http://127.0.0.1:{free_port()}"
    ):
        yield env


def email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def phone() -> str:
    return f"+4179{uuid.uuid4().int % 10**7:07d}"


def user_with_password(env: Env, address: str, phone_number: str | None = None) -> uuid.UUID:
    user_id = env.active_user(address, phone=phone_number)
    env.execute("UPDATE users SET password_hash = %s WHERE id = %s", PASSWORD_HASH, user_id)
    return user_id


async def sign_in(env: Env, username: str, password: str) -> httpx.Response:
    return await env.client.post(
        "/internal/v1/password/verify",
        json={"username": username, "password": password, "client_ip": CLIENT_IP},
        headers=INTERNAL,
    )


async def request_reset(env: Env, username: str, language: str = "en") -> httpx.Response:
    return await env.client.post(
        "/v1/users/password-reset/request",
        json={"username": username},
        headers={"accept-language": language, "x-forwarded-for": CLIENT_IP},
    )


async def confirm_reset(
    env: Env, username: str, otp: str, new_password: str = NEW_PASSWORD
) -> httpx.Response:
    return await env.client.post(
        "/v1/users/password-reset/confirm",
        json={"username": username, "otp": otp, "new_password": new_password},
        headers={"x-forwarded-for": CLIENT_IP},
    )


async def reset_code(env: Env, address: str) -> str:
    code = (await env.event(address, "password_reset_code")).code
    assert code is not None
    return code


async def change(env: Env, token: str, current: str, new: str = NEW_PASSWORD) -> httpx.Response:
    return await env.client.put(
        "/v1/users/me/password",
        json={"current_password": current, "new_password": new},
        headers={"authorization": f"Bearer {token}", "x-forwarded-for": CLIENT_IP},
    )


def sent_to(env: Env, address: str) -> int:
    """Delivery requests written for `address` (codes and notices alike)."""
    return int(
        env.scalar(
            "SELECT count(*) FROM outbox WHERE position(%s in convert_from(payload, 'UTF8')) > 0",
            f'"recipient":"{address}"',
        )
    )


def audited(env: Env, event: str, user_id: uuid.UUID) -> int:
    return int(
        env.scalar(
            "SELECT count(*) FROM audit_events WHERE event = %s AND user_id = %s", event, user_id
        )
    )


def other_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def comparable(answer: httpx.Response) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "x-request-id"}
    body = {k: v for k, v in answer.json().items() if k != "request_id"}
    return answer.status_code, body, headers


# requesting a reset


async def test_a_reset_request_answers_alike_for_an_account_and_a_stranger_and_sends_only_once(
    accounts,
):
    address, unknown = email(), email()
    user_with_password(accounts, address)

    known_answer = await request_reset(accounts, f"  {address.upper()} ")
    unknown_answer = await request_reset(accounts, unknown)

    assert comparable(known_answer) == comparable(unknown_answer)
    assert known_answer.status_code == 200
    assert known_answer.json() == {"message": RESET_REQUESTED}
    event = await accounts.event(address, "password_reset_code")
    assert (event.channel, event.locale) == ("email", "en")
    assert sent_to(accounts, unknown) == 0
    assert accounts.scalar("SELECT count(*) FROM code_requests WHERE recipient = %s", unknown) == 0
    assert accounts.scalar("SELECT count(*) FROM otp_codes") == 1


async def test_the_reset_answer_is_in_the_callers_language(accounts):
    answer = await request_reset(accounts, email(), language="de-CH")
    assert answer.json()["message"].startswith("Falls zu dieser Adresse ein Konto besteht")


async def test_a_phone_number_typed_with_spaces_gets_its_reset_code_by_sms(accounts):
    number = phone()
    user_with_password(accounts, email(), phone_number=number)
    spaced = f"{number[:3]} {number[3:5]} {number[5:8]} {number[8:]}"
    assert (await request_reset(accounts, spaced)).status_code == 200
    event = await accounts.event(number, "password_reset_code")
    assert event.channel == "sms"


async def test_beyond_the_hourly_caps_a_reset_request_answers_alike_and_sends_nothing(accounts):
    address = email()
    user_with_password(accounts, address)
    caps = accounts.settings.codes_per_recipient_per_hour
    for _ in range(caps):
        assert (await request_reset(accounts, address)).status_code == 200
    capped = await request_reset(accounts, address)
    assert comparable(capped) == comparable(await request_reset(accounts, email()))
    assert accounts.scalar("SELECT count(*) FROM otp_codes") == caps


async def test_pending_and_disabled_accounts_get_no_reset_code(accounts):
    pending, disabled = email(), email()
    accounts.execute(
        "UPDATE users SET status = 'disabled' WHERE id = %s", user_with_password(accounts, disabled)
    )
    pending_id = uuid.uuid4()
    accounts.execute("INSERT INTO users (id, status) VALUES (%s, 'pending')", pending_id)
    accounts.execute(
        "INSERT INTO credentials (id, user_id, type, value) VALUES (%s, %s, 'email', %s)",
        uuid.uuid4(),
        pending_id,
        pending,
    )
    for address in (pending, disabled):
        answer = await request_reset(accounts, address)
        assert answer.json() == {"message": RESET_REQUESTED}
    assert accounts.scalar("SELECT count(*) FROM otp_codes") == 0


# resetting with the code


async def test_the_reset_code_replaces_the_password_ends_every_session_and_notifies_the_owner(
    accounts, sessions
):
    address = email()
    user_id = user_with_password(accounts, address)
    before = accounts.scalar("SELECT password_changed_at FROM users WHERE id = %s", user_id)
    await request_reset(accounts, address)
    code = await reset_code(accounts, address)

    answer = await confirm_reset(accounts, address.upper(), code)

    assert answer.status_code == 200, answer.text
    assert "Your password has been reset" in answer.json()["message"]
    assert (await sign_in(accounts, address, PASSWORD)).status_code == 401
    signed_in = await sign_in(accounts, address, NEW_PASSWORD)
    assert signed_in.status_code == 200
    assert signed_in.json()["credential_version"] == 1  # the new password's
    assert [call.body for call in sessions.calls] == [
        {"user_id": str(user_id), "keep_session": None, "credential_version": 1, "purge": False}
    ]
    assert sessions.calls[0].headers["x-internal-token"] == INTERNAL_TOKEN
    notice = await accounts.event(address, "password_changed_notice")
    assert (notice.code, notice.user_id) == (None, str(user_id))
    after = accounts.scalar("SELECT password_changed_at FROM users WHERE id = %s", user_id)
    assert after > before
    assert audited(accounts, "password_reset", user_id) == 1

    again = await confirm_reset(accounts, address, code, new_password="yet-another-secret-7")
    assert (again.status_code, again.json()["code"]) == (400, "otp_invalid")
    assert (await sign_in(accounts, address, NEW_PASSWORD)).status_code == 200
    assert len(sessions.calls) == 1


async def test_a_new_password_against_the_policy_is_refused_and_nothing_changes(accounts, sessions):
    address = email()
    user_with_password(accounts, address)
    await request_reset(accounts, address)
    code = await reset_code(accounts, address)

    answer = await confirm_reset(accounts, address, code, new_password="short")

    assert (answer.status_code, answer.json()["code"]) == (422, "password_too_short")
    assert sessions.calls == []
    assert (await sign_in(accounts, address, PASSWORD)).status_code == 200
    assert accounts.scalar("SELECT attempts FROM otp_codes") == 0
    assert (await confirm_reset(accounts, address, code)).status_code == 200


async def test_a_wrong_code_and_an_unknown_username_are_refused_alike_and_guesses_count(
    accounts, sessions
):
    address = email()
    user_with_password(accounts, address)
    await request_reset(accounts, address)
    code = await reset_code(accounts, address)

    wrong = await confirm_reset(accounts, address, other_code(code))
    stranger = await confirm_reset(accounts, email(), code)
    nonsense = await confirm_reset(accounts, "not a username", code)

    assert comparable(wrong) == comparable(stranger) == comparable(nonsense)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")
    assert accounts.scalar("SELECT attempts FROM otp_codes") == 1
    assert sessions.calls == []


async def test_after_too_many_wrong_codes_the_answer_still_does_not_tell_an_account_exists(
    accounts,
):
    address = email()
    user_with_password(accounts, address)
    await request_reset(accounts, address)
    code = await reset_code(accounts, address)
    for _ in range(accounts.settings.otp_max_attempts):
        await confirm_reset(accounts, address, other_code(code))
    used_up = await confirm_reset(accounts, address, code)
    assert comparable(used_up) == comparable(await confirm_reset(accounts, email(), code))
    assert (await sign_in(accounts, address, PASSWORD)).status_code == 200


async def test_while_the_session_service_is_down_a_reset_is_503_and_changes_nothing(no_sessions):
    address = email()
    user_with_password(no_sessions, address)
    await request_reset(no_sessions, address)
    code = await reset_code(no_sessions, address)

    answer = await confirm_reset(no_sessions, address, code)

    assert (answer.status_code, answer.json()["code"]) == (503, "service_unavailable")
    assert answer.headers["retry-after"] == "2"
    assert (await sign_in(no_sessions, address, PASSWORD)).status_code == 200
    assert no_sessions.scalar("SELECT consumed_at FROM otp_codes") is None
    assert (
        no_sessions.scalar("SELECT count(*) FROM audit_events WHERE event = 'password_reset'") == 0
    )


async def test_a_failing_session_service_refuses_the_reset_and_the_code_works_once_it_is_back(
    accounts, sessions
):
    address = email()
    user_with_password(accounts, address)
    await request_reset(accounts, address)
    code = await reset_code(accounts, address)
    sessions.mode = "fail"
    assert (await confirm_reset(accounts, address, code)).status_code == 503
    assert (await sign_in(accounts, address, PASSWORD)).status_code == 200

    sessions.mode = "ok"
    assert (await confirm_reset(accounts, address, code)).status_code == 200
    assert (await sign_in(accounts, address, NEW_PASSWORD)).status_code == 200


async def test_a_reset_lifts_the_lock_that_failed_sign_ins_put_on_the_account(accounts):
    address = email()
    user_with_password(accounts, address)
    for _ in range(accounts.settings.lockout_ip_failures + 1):
        await sign_in(accounts, address, "not-the-password-1")
    assert (await sign_in(accounts, address, PASSWORD)).status_code == 423

    await request_reset(accounts, address)
    assert (await confirm_reset(accounts, address, await reset_code(accounts, address))).is_success

    assert (await sign_in(accounts, address, NEW_PASSWORD)).status_code == 200


async def test_a_reset_by_the_unverified_sign_in_email_of_an_auth_account_verifies_it(accounts):
    address = email()
    user_id = uuid.uuid4()
    accounts.execute(
        "INSERT INTO users (id, status, password_hash) VALUES (%s, 'active', %s)",
        user_id,
        PASSWORD_HASH,
    )
    accounts.execute(
        "INSERT INTO credentials (id, user_id, type, value, sign_in_unverified)"
        " VALUES (%s, %s, 'email', %s, true)",
        uuid.uuid4(),
        user_id,
        address,
    )
    await request_reset(accounts, address)
    assert (await confirm_reset(accounts, address, await reset_code(accounts, address))).is_success

    verified_at = accounts.scalar(
        "SELECT verified_at FROM credentials WHERE user_id = %s AND value = %s", user_id, address
    )
    assert verified_at is not None
    assert (await accounts.event(address, "password_changed_notice")).user_id == str(user_id)


async def test_an_unverified_address_added_to_an_account_gets_no_reset_code(accounts):
    number = phone()
    user_id = user_with_password(accounts, email())
    accounts.execute(
        "INSERT INTO credentials (id, user_id, type, value) VALUES (%s, %s, 'phone', %s)",
        uuid.uuid4(),
        user_id,
        number,
    )
    assert (await request_reset(accounts, number)).status_code == 200
    assert accounts.scalar("SELECT count(*) FROM otp_codes") == 0


# changing the password while signed in


async def test_a_password_change_ends_every_other_session_and_keeps_the_callers(accounts, sessions):
    address = email()
    user_id = user_with_password(accounts, address)
    sid = str(uuid.uuid4())

    answer = await change(accounts, accounts.access_token(user_id, sid=sid), PASSWORD)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "message": "Your password has been changed. Your other sessions were signed out."
    }
    assert [call.body for call in sessions.calls] == [
        {"user_id": str(user_id), "keep_session": sid, "credential_version": 1, "purge": False}
    ]
    assert (await sign_in(accounts, address, PASSWORD)).status_code == 401
    assert (await sign_in(accounts, address, NEW_PASSWORD)).status_code == 200
    assert (await accounts.event(address, "password_changed_notice")).user_id == str(user_id)
    assert audited(accounts, "password_changed", user_id) == 1


async def test_a_wrong_current_password_is_refused_and_changes_nothing(accounts, sessions):
    address = email()
    user_id = user_with_password(accounts, address)

    answer = await change(accounts, accounts.access_token(user_id), "not-the-password-1")

    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")
    assert sessions.calls == []
    assert (await sign_in(accounts, address, PASSWORD)).status_code == 200
    assert audited(accounts, "password_change_failed", user_id) == 1
    assert sent_to(accounts, address) == 0


async def test_repeated_wrong_current_passwords_lock_the_change_but_not_the_sign_in(accounts):
    address = email()
    user_id = user_with_password(accounts, address)
    token = accounts.access_token(user_id)
    for _ in range(accounts.settings.lockout_ip_failures):
        assert (await change(accounts, token, "not-the-password-1")).status_code == 401

    locked = await change(accounts, token, PASSWORD)

    assert (locked.status_code, locked.json()["code"]) == (423, "account_locked")
    assert int(locked.headers["retry-after"]) > 0
    assert (await sign_in(accounts, address, PASSWORD)).status_code == 200


async def test_a_new_password_against_the_policy_is_refused_before_the_current_one_is_checked(
    accounts, sessions
):
    user_id = user_with_password(accounts, email())
    answer = await change(accounts, accounts.access_token(user_id), PASSWORD, new="password")
    assert (answer.status_code, answer.json()["code"]) == (422, "password_too_common")
    assert sessions.calls == []
    assert audited(accounts, "password_change_failed", user_id) == 0


async def test_while_the_session_service_is_down_a_change_is_503_and_changes_nothing(no_sessions):
    address = email()
    user_id = user_with_password(no_sessions, address)
    answer = await change(no_sessions, no_sessions.access_token(user_id), PASSWORD)
    assert (answer.status_code, answer.json()["code"]) == (503, "service_unavailable")
    assert (await sign_in(no_sessions, address, PASSWORD)).status_code == 200


async def test_a_password_change_needs_an_access_token_not_a_challenge_token(accounts):
    user_id = user_with_password(accounts, email())
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    missing = await accounts.client.put("/v1/users/me/password", json=body)
    challenge = await accounts.client.put(
        "/v1/users/me/password",
        json=body,
        headers={"authorization": f"Bearer {accounts.challenge_token(user_id, 'totp')}"},
    )
    assert (missing.status_code, missing.json()["code"]) == (401, "unauthorized")
    assert (challenge.status_code, challenge.json()["code"]) == (401, "token_invalid")
