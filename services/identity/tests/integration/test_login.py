"""Signing in through the internal API (password, lockout, login codes), against real servers."""

import asyncio
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tessera_identity.adapters.argon2_hasher import Argon2Hasher
from tessera_identity.app import create_app
from tessera_identity.flows.login.service import Login, VerifyPassword
from tessera_identity.migrate import migrate
from tessera_shared.testing.parallel import in_parallel

from .conftest import Env, settings_for
from .test_registration import PASSWORD, register, verify

INTERNAL = {"x-internal-token": "internal-test-token"}
CLIENT_IP = "198.51.100.10"
WRONG = "not-the-password-1"


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, ip: str = CLIENT_IP
) -> httpx.Response:
    return await client.post(
        "/internal/v1/password/verify",
        json={"username": username, "password": password, "client_ip": ip},
        headers=INTERNAL,
    )


async def active_user(identity: Env, address: str, kind: str = "email") -> str:
    """Register and verify through the public API; `address` is the normalized form."""
    user_id: str = (await register(identity, address, kind)).json()["user_id"]
    code = (await identity.event(address, "registration_code")).code
    assert code is not None
    assert (await verify(identity, user_id, code, kind)).status_code == 200
    return user_id


def audit(identity: Env, event: str) -> int:
    return int(identity.scalar("SELECT count(*) FROM audit_events WHERE event = %s", event))


def without_request_id(answer: httpx.Response) -> dict[str, Any]:
    return {k: v for k, v in answer.json().items() if k != "request_id"}


def other_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


# the guard


@pytest.mark.parametrize("headers", [{}, {"x-internal-token": "internal-test-tokeN"}])
async def test_the_internal_api_refuses_callers_without_the_internal_token(identity, headers):
    user_id = await active_user(identity, "guarded@example.com")
    identity.execute("UPDATE users SET mfa_mode = 'email'")
    outbox_before = identity.scalar("SELECT count(*) FROM outbox")
    calls = [
        (
            "/internal/v1/password/verify",
            {"username": "guarded@example.com", "password": PASSWORD, "client_ip": CLIENT_IP},
        ),
        ("/internal/v1/codes/send", {"user_id": user_id}),
        ("/internal/v1/codes/verify", {"user_id": user_id, "otp": "123456"}),
    ]
    for path, json in calls:
        answer = await identity.client.post(path, json=json, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (401, "unauthorized"), path

    assert identity.scalar("SELECT count(*) FROM audit_events") == 0
    assert identity.scalar("SELECT count(*) FROM login_throttle") == 0
    assert identity.scalar("SELECT last_login_at FROM users WHERE id = %s", user_id) is None
    assert identity.scalar("SELECT count(*) FROM otp_codes WHERE purpose = 'login'") == 0
    assert identity.scalar("SELECT count(*) FROM outbox") == outbox_before


# signing in


@pytest.mark.parametrize("typed", ["signin@example.com", "  SignIn@EXAMPLE.com\t"])
async def test_an_active_user_signs_in_with_the_email_in_any_case(identity, typed):
    user_id = await active_user(identity, "signin@example.com")

    answer = await sign_in(identity.client, typed)

    assert answer.status_code == 200
    assert answer.json() == {
        "user_id": user_id,
        "status": "active",
        "mfa_mode": "none",
        "locale": "en",
        "credential_version": 0,  # no reset or change yet
    }
    assert identity.scalar(
        "SELECT last_login_at > now() - interval '1 minute' FROM users WHERE id = %s", user_id
    )
    assert identity.scalar(
        "SELECT count(*) FROM audit_events"
        " WHERE event = 'login_succeeded' AND user_id = %s AND ip = %s",
        user_id,
        CLIENT_IP,
    )
    assert audit(identity, "login_failed") == 0


@pytest.mark.parametrize("typed", ["+41791234567", "+41 79 123 45 67", "+41-79-123-45-67"])
async def test_a_phone_user_signs_in_with_the_number_in_any_format(identity, typed):
    user_id = await active_user(identity, "+41791234567", "phone")

    answer = await sign_in(identity.client, typed)

    assert answer.status_code == 200
    assert answer.json()["user_id"] == user_id
    assert identity.scalar("SELECT last_login_at IS NOT NULL FROM users WHERE id = %s", user_id)
    assert audit(identity, "login_succeeded") == 1


async def test_a_wrong_password_and_an_unknown_user_get_the_very_same_answer(identity, monkeypatch):
    user_id = await active_user(identity, "known@example.com")
    dummy_checks: list[str] = []
    dummy_verify = Argon2Hasher.dummy_verify

    async def counted(self: Argon2Hasher, password: str) -> None:
        dummy_checks.append(password)
        await dummy_verify(self, password)

    monkeypatch.setattr(Argon2Hasher, "dummy_verify", counted)

    wrong = await sign_in(identity.client, "known@example.com", WRONG)
    unknown = await sign_in(identity.client, "nobody@example.com", WRONG)

    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    assert unknown.status_code == wrong.status_code
    assert without_request_id(unknown) == without_request_id(wrong)
    assert unknown.headers.get("retry-after") is None
    assert dummy_checks == [WRONG]  # the unknown name cost an argon2 check too
    assert identity.scalar(
        "SELECT count(*) FROM audit_events WHERE event = 'login_failed' AND user_id = %s", user_id
    )
    assert identity.scalar(
        "SELECT count(*) FROM audit_events WHERE event = 'login_failed' AND user_id IS NULL"
    )
    assert identity.scalar("SELECT last_login_at FROM users WHERE id = %s", user_id) is None


@pytest.mark.parametrize(
    "username",
    ["???", "", "@", "a@b@c", "+41", "0041 79 123 45 67", "x" * 1024, "jane\x00@example.com"],
)
async def test_a_malformed_username_is_just_invalid_credentials(identity, username):
    answer = await sign_in(identity.client, username, WRONG)
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")
    assert audit(identity, "login_failed") == 1
    subject = identity.scalar("SELECT subject FROM audit_events WHERE user_id IS NULL")
    assert re.fullmatch("[0-9a-f]{64}", subject)  # only a keyed hash of what was typed


@pytest.mark.parametrize("path", ["/internal/v1/password/verify", "/internal/v1/codes/send"])
async def test_a_client_ip_the_database_cannot_store_is_refused_never_500(identity, path):
    user_id = await active_user(identity, "ip@example.com")
    bodies = {
        "/internal/v1/password/verify": {"username": "ip@example.com", "password": PASSWORD},
        "/internal/v1/codes/send": {"user_id": user_id, "channel": "email"},
    }
    answer = await identity.client.post(
        path, json={**bodies[path], "client_ip": "192.0.2.1\x00"}, headers=INTERNAL
    )
    assert 400 <= answer.status_code < 500, answer.json()
    assert identity.scalar("SELECT count(*) FROM otp_codes WHERE purpose = 'login'") == 0


async def test_a_pending_account_is_not_verified_only_with_the_right_password(identity):
    user_id = (await register(identity, "pending@example.com")).json()["user_id"]

    wrong = await sign_in(identity.client, "pending@example.com", WRONG)
    right = await sign_in(identity.client, "pending@example.com")

    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    assert (right.status_code, right.json()["code"]) == (403, "account_not_verified")
    assert identity.scalar("SELECT status FROM users WHERE id = %s", user_id) == "pending"
    assert identity.scalar("SELECT last_login_at FROM users WHERE id = %s", user_id) is None


# lockout


async def test_five_wrong_passwords_lock_the_account_for_that_client_ip_only(identity):
    user_id = await active_user(identity, "lock@example.com")
    for _ in range(5):
        answer = await sign_in(identity.client, "lock@example.com", WRONG)
        assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")

    locked = await sign_in(identity.client, "lock@example.com", WRONG)
    assert (locked.status_code, locked.json()["code"]) == (423, "account_locked")
    assert 1 <= int(locked.headers["retry-after"]) <= 60

    still = await sign_in(identity.client, "lock@example.com")  # the right password
    assert (still.status_code, still.json()["code"]) == (423, "account_locked")
    assert 1 <= int(still.headers["retry-after"]) <= 60
    assert identity.scalar("SELECT last_login_at FROM users WHERE id = %s", user_id) is None

    elsewhere = await sign_in(identity.client, "lock@example.com", ip="192.0.2.99")
    assert elsewhere.status_code == 200
    assert elsewhere.json()["user_id"] == user_id

    assert audit(identity, "login_failed") == 5
    assert audit(identity, "account_locked") == 1
    assert audit(identity, "login_refused_locked") == 2
    assert audit(identity, "login_succeeded") == 1
    assert identity.scalar(
        "SELECT locked_until > now() FROM login_throttle WHERE scope = 'account_ip' AND ip = %s",
        CLIENT_IP,
    )
    notice = await identity.event("lock@example.com", "account_locked_notice")
    assert (notice.channel, notice.user_id, notice.code) == ("email", user_id, None)


async def test_an_unknown_username_is_locked_out_like_a_real_account(identity):
    await active_user(identity, "real@example.com")
    real: list[httpx.Response] = []
    unknown: list[httpx.Response] = []
    for _ in range(6):
        real.append(await sign_in(identity.client, "real@example.com", WRONG))
        unknown.append(await sign_in(identity.client, "ghost@example.com", WRONG))

    assert [a.status_code for a in unknown] == [a.status_code for a in real]
    assert [a.status_code for a in unknown] == [401] * 5 + [423]
    assert without_request_id(unknown[-1]) == without_request_id(real[-1])
    assert unknown[-1].headers["retry-after"] == real[-1].headers["retry-after"]
    assert identity.scalar(
        "SELECT count(*) FROM audit_events WHERE event = 'login_refused_locked' AND user_id IS NULL"
    )
    assert identity.scalar("SELECT count(*) FROM login_throttle WHERE locked_until > now()") == 2


async def test_parallel_wrong_passwords_are_checked_at_most_five_times(identity, monkeypatch):
    await active_user(identity, "race@example.com")
    in_flight = 0
    peak = 0
    verify_password = Login.verify_password

    async def watched(self: Login, cmd: Any) -> Any:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await verify_password(self, cmd)
        finally:
            in_flight -= 1

    monkeypatch.setattr(Login, "verify_password", watched)

    answers = await in_parallel(
        identity.client,
        [lambda http: sign_in(http, "race@example.com", WRONG) for _ in range(50)],
    )

    assert peak > 1  # the attempts really overlapped
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {401, 423}, statuses
    assert 423 in statuses
    assert audit(identity, "login_failed") <= 5
    assert audit(identity, "login_failed") == statuses.count(401)
    assert audit(identity, "account_locked") == 1
    # One lock notice went out; it does not count against the owner's hourly code cap.
    notices = identity.scalar(
        "SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8') LIKE"
        " '%%account_locked_notice%%race@example.com%%'"
    )
    assert notices == 1
    assert (
        identity.scalar("SELECT count(*) FROM code_requests WHERE recipient = 'race@example.com'")
        == 1
    )  # the registration code only


async def test_wrong_passwords_from_many_ips_lock_the_account_for_a_new_ip_too(
    postgres_url, nats_url, test_id
):
    migrate(postgres_url)
    settings = settings_for(
        postgres_url, nats_url, test_id, lockout_ip_failures=3, lockout_account_failures=6
    )
    async with AsyncTestClient(create_app(settings)) as client:
        env = Env(client=client, settings=settings, database_url=postgres_url, nats_url=nats_url)
        user_id = await active_user(env, "spread@example.com")
        for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
            for _ in range(2):
                answer = await sign_in(client, "spread@example.com", WRONG, ip)
                assert answer.status_code == 401

        locked = await sign_in(client, "spread@example.com", WRONG, "192.0.2.4")
        assert (locked.status_code, locked.json()["code"]) == (423, "account_locked")
        fresh = await sign_in(client, "spread@example.com", ip="192.0.2.5")  # right password
        assert (fresh.status_code, fresh.json()["code"]) == (423, "account_locked")
        assert 1 <= int(fresh.headers["retry-after"]) <= 300

        assert env.scalar("SELECT locked_until > now() FROM login_throttle WHERE scope = 'account'")
        assert env.scalar("SELECT count(*) FROM login_throttle WHERE locked_until > now()") == 1
        assert (
            env.scalar(
                "SELECT count(*) FROM audit_events WHERE event = 'account_locked' AND user_id = %s",
                user_id,
            )
            == 1
        )
        assert env.scalar("SELECT last_login_at FROM users WHERE id = %s", user_id) is None


async def test_after_a_lock_expires_the_password_works_and_failures_count_from_one(identity):
    user_id = await active_user(identity, "expire@example.com")
    for _ in range(6):
        await sign_in(identity.client, "expire@example.com", WRONG)
    assert (await sign_in(identity.client, "expire@example.com")).status_code == 423

    identity.execute("UPDATE login_throttle SET locked_until = now() - interval '1 second'")
    answer = await sign_in(identity.client, "expire@example.com")
    assert answer.status_code == 200
    assert answer.json()["user_id"] == user_id
    assert identity.scalar("SELECT last_login_at IS NOT NULL FROM users WHERE id = %s", user_id)

    assert (await sign_in(identity.client, "expire@example.com", WRONG)).status_code == 401
    assert (
        identity.scalar(
            "SELECT failures FROM login_throttle WHERE scope = 'account_ip' AND ip = %s", CLIENT_IP
        )
        == 1
    )
    assert identity.scalar("SELECT failures FROM login_throttle WHERE scope = 'account'") == 1
    for _ in range(4):
        assert (await sign_in(identity.client, "expire@example.com", WRONG)).status_code == 401
    assert (await sign_in(identity.client, "expire@example.com", WRONG)).status_code == 423


async def test_parallel_correct_sign_ins_all_succeed_and_leave_the_account_unlocked(identity):
    user_id = await active_user(identity, "busy@example.com")

    answers = await in_parallel(
        identity.client, [lambda http: sign_in(http, "busy@example.com") for _ in range(8)]
    )

    assert [a.status_code for a in answers] == [200] * 8, [a.json() for a in answers]
    assert {a.json()["user_id"] for a in answers} == {user_id}
    assert identity.scalar("SELECT count(*) FROM login_throttle WHERE locked_until > now()") == 0
    assert audit(identity, "account_locked") == 0
    assert audit(identity, "login_succeeded") == 8
    assert (await sign_in(identity.client, "busy@example.com")).status_code == 200


async def test_beyond_the_attempts_in_flight_a_sign_in_is_told_to_retry_and_nothing_locks(
    postgres_url, nats_url, test_id, monkeypatch
):
    migrate(postgres_url)
    settings = settings_for(
        postgres_url, nats_url, test_id, argon2_workers=8, lockout_slot_wait_s=0
    )
    check = Argon2Hasher._check

    def slow_check(self: Argon2Hasher, password_hash: str, password: str) -> bool:
        time.sleep(0.3)  # every attempt is still in flight when the last one arrives
        return check(self, password_hash, password)

    async with AsyncTestClient(create_app(settings)) as client:
        env = Env(client=client, settings=settings, database_url=postgres_url, nats_url=nats_url)
        await active_user(env, "crowd@example.com")
        monkeypatch.setattr(Argon2Hasher, "_check", slow_check)
        answers = await in_parallel(
            client, [lambda http: sign_in(http, "crowd@example.com") for _ in range(7)]
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 5 + [429] * 2, [a.json() for a in answers]
        busy = next(a for a in answers if a.status_code == 429)
        assert busy.json()["code"] == "login_attempts_in_progress"
        assert busy.headers["retry-after"] == "1"
        assert env.scalar("SELECT count(*) FROM login_throttle WHERE locked_until IS NOT NULL") == 0
        assert env.scalar("SELECT sum(in_flight) FROM login_throttle") == 0
        assert env.scalar("SELECT sum(failures) FROM login_throttle") == 0


async def test_slots_left_by_attempts_of_a_dead_process_free_themselves(identity):
    await active_user(identity, "dead@example.com")
    assert (await sign_in(identity.client, "dead@example.com")).status_code == 200
    identity.execute(  # five attempts reserved a minute ago, never settled
        "UPDATE login_throttle SET in_flight = 5, in_flight_until = now() - interval '1 second'"
    )
    assert (await sign_in(identity.client, "dead@example.com")).status_code == 200
    assert identity.scalar("SELECT sum(in_flight) FROM login_throttle") == 0


async def test_a_caller_gone_mid_check_leaves_no_slot_taken_and_its_guess_counted(
    identity, monkeypatch
):
    await active_user(identity, "gone@example.com")
    check = Argon2Hasher._check

    def slow_check(self: Argon2Hasher, password_hash: str, password: str) -> bool:
        time.sleep(0.3)
        return check(self, password_hash, password)

    monkeypatch.setattr(Argon2Hasher, "_check", slow_check)
    login: Login = identity.client.app.state.login

    async def leave_mid_check() -> None:
        attempt = asyncio.ensure_future(
            login.verify_password(
                VerifyPassword(username="gone@example.com", password=WRONG, client_ip=CLIENT_IP)
            )
        )
        await asyncio.sleep(0.1)  # reserved, checking
        attempt.cancel()
        await asyncio.sleep(0.6)  # the check and its settling go on without the caller

    identity.client.blocking_portal.call(leave_mid_check)

    assert identity.scalar("SELECT sum(in_flight) FROM login_throttle") == 0
    assert identity.scalar("SELECT failures FROM login_throttle WHERE scope = 'account_ip'") == 1
    assert audit(identity, "login_failed") == 1


async def test_an_argon2_pool_timeout_is_not_counted_as_a_failed_attempt(
    postgres_url, nats_url, test_id, monkeypatch
):
    migrate(postgres_url)
    settings = settings_for(
        postgres_url, nats_url, test_id, argon2_workers=1, argon2_max_wait_s=0.05
    )
    check = Argon2Hasher._check

    def slow_check(self: Argon2Hasher, password_hash: str, password: str) -> bool:
        time.sleep(0.5)  # one check holds the only hashing thread past everyone's wait
        return check(self, password_hash, password)

    async with AsyncTestClient(create_app(settings)) as client:
        env = Env(client=client, settings=settings, database_url=postgres_url, nats_url=nats_url)
        await active_user(env, "pool@example.com")
        monkeypatch.setattr(Argon2Hasher, "_check", slow_check)
        answers = await in_parallel(
            client, [lambda http: sign_in(http, "pool@example.com", WRONG) for _ in range(4)]
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [401, 503, 503, 503], [a.json() for a in answers]
        assert env.scalar("SELECT failures FROM login_throttle WHERE scope = 'account_ip'") == 1
        assert env.scalar("SELECT failures FROM login_throttle WHERE scope = 'account'") == 1

        monkeypatch.setattr(Argon2Hasher, "_check", check)
        for _ in range(4):  # four more wrong passwords are still checked: five in all
            answer = await sign_in(client, "pool@example.com", WRONG)
            assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")
        locked = await sign_in(client, "pool@example.com", WRONG)
        assert (locked.status_code, locked.json()["code"]) == (423, "account_locked")


# rehash


async def test_signing_in_upgrades_a_hash_made_with_weaker_parameters(
    identity, postgres_url, nats_url, test_id
):
    user_id = await active_user(identity, "rehash@example.com")
    old = identity.scalar("SELECT password_hash FROM users WHERE id = %s", user_id)
    assert "m=8192,t=1" in old

    stronger = settings_for(
        postgres_url, nats_url, test_id, argon2_memory_kib=16384, argon2_time_cost=2
    )
    async with AsyncTestClient(create_app(stronger)) as client:
        assert (await sign_in(client, "rehash@example.com")).status_code == 200
        upgraded = identity.scalar("SELECT password_hash FROM users WHERE id = %s", user_id)
        assert upgraded.startswith("$argon2id$")
        assert "m=16384,t=2" in upgraded

        again = await sign_in(client, "rehash@example.com")
        assert again.status_code == 200
        assert again.json()["user_id"] == user_id
        # Already strong enough: not hashed again.
        assert identity.scalar("SELECT password_hash FROM users WHERE id = %s", user_id) == upgraded
        wrong = await sign_in(client, "rehash@example.com", WRONG)
        assert wrong.status_code == 401


# login codes


async def test_a_login_code_goes_to_the_mfa_channel_and_works_once(identity):
    user_id = await active_user(identity, "mfa@example.com")
    identity.execute("UPDATE users SET mfa_mode = 'email' WHERE id = %s", user_id)

    sent = await identity.client.post(
        "/internal/v1/codes/send",
        json={"user_id": user_id, "client_ip": CLIENT_IP},
        headers=INTERNAL,
    )
    assert sent.status_code == 200
    assert sent.json() == {"channel": "email", "expires_in_s": 600}
    event = await identity.event("mfa@example.com", "login_code")
    assert event.user_id == user_id
    assert event.code is not None
    assert len(event.code) == 6
    assert event.code.isdigit()
    assert (
        identity.scalar(
            "SELECT count(*) FROM otp_codes WHERE user_id = %s AND purpose = 'login'", user_id
        )
        == 1
    )

    async def check(otp: str) -> httpx.Response:
        return await identity.client.post(
            "/internal/v1/codes/verify", json={"user_id": user_id, "otp": otp}, headers=INTERNAL
        )

    wrong = await check(other_code(event.code))
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")
    assert (
        identity.scalar(
            "SELECT attempts FROM otp_codes WHERE user_id = %s AND purpose = 'login'", user_id
        )
        == 1
    )
    right = await check(event.code)
    assert (right.status_code, right.json()) == (200, {"verified": True})
    assert identity.scalar(
        "SELECT consumed_at IS NOT NULL FROM otp_codes WHERE user_id = %s AND purpose = 'login'",
        user_id,
    )
    again = await check(event.code)
    assert (again.status_code, again.json()["code"]) == (409, "otp_used")


async def test_no_login_code_without_an_mfa_channel(identity):
    user_id = await active_user(identity, "nomfa@example.com")
    outbox_before = identity.scalar("SELECT count(*) FROM outbox")

    answer = await identity.client.post(
        "/internal/v1/codes/send", json={"user_id": user_id}, headers=INTERNAL
    )

    assert (answer.status_code, answer.json()["code"]) == (400, "bad_request")
    assert identity.scalar("SELECT count(*) FROM otp_codes WHERE purpose = 'login'") == 0
    assert identity.scalar("SELECT count(*) FROM outbox") == outbox_before


async def test_lock_notices_caused_by_a_stranger_do_not_use_up_the_owners_login_codes(identity):
    user_id = await active_user(identity, "victim@example.com")
    identity.execute("UPDATE users SET mfa_mode = 'email' WHERE id = %s", user_id)
    # A stranger guesses from four addresses (20 failures, the account ceiling): each pair
    # (account, IP) locks and sends the owner a notice.
    for n in range(4):
        for _ in range(6):
            await sign_in(identity.client, "victim@example.com", WRONG, f"203.0.113.{n + 50}")
    assert audit(identity, "account_locked") == 4
    # Sixteen minutes later the locks and the counting window are over.
    identity.execute(
        "UPDATE login_throttle SET locked_until = now() - interval '1 second',"
        " window_started_at = now() - interval '16 minutes'"
    )

    # The owner signs in with the right password, then asks for the second factor.
    home = "192.0.2.200"
    assert (await sign_in(identity.client, "victim@example.com", ip=home)).status_code == 200
    sent = await identity.client.post(
        "/internal/v1/codes/send", json={"user_id": user_id, "client_ip": home}, headers=INTERNAL
    )
    assert sent.status_code == 200, sent.json()


# registration cost


async def test_registering_a_new_and_a_taken_address_both_hash_the_password_once(
    postgres_url, nats_url, test_id, monkeypatch
):
    hashes: list[str] = []
    original = Argon2Hasher.hash

    async def counted(self: Argon2Hasher, password: str) -> str:
        result = await original(self, password)
        hashes.append(result)
        return result

    monkeypatch.setattr(Argon2Hasher, "hash", counted)
    migrate(postgres_url)
    settings = settings_for(postgres_url, nats_url, test_id)
    async with AsyncTestClient(create_app(settings)) as client:
        env = Env(client=client, settings=settings, database_url=postgres_url, nats_url=nats_url)

        first = await register(env, "cost@example.com")
        assert first.status_code == 200
        assert len(hashes) == 1
        code = (await env.event("cost@example.com", "registration_code")).code
        assert code is not None
        assert (await verify(env, first.json()["user_id"], code)).status_code == 200
        assert len(hashes) == 1
        stored = env.scalar("SELECT password_hash FROM users")

        taken = await register(env, "cost@example.com")
        assert taken.status_code == 200
        assert len(hashes) == 2
        assert all(h.startswith("$argon2id$") for h in hashes)
        await env.event("cost@example.com", "registration_notice")  # it took the taken path
        assert env.scalar("SELECT count(*) FROM users") == 1
        assert env.scalar("SELECT password_hash FROM users") == stored
        assert uuid.UUID(taken.json()["user_id"]) != uuid.UUID(first.json()["user_id"])


async def test_a_disabled_account_with_the_right_password_is_told_it_is_disabled(identity):
    user_id = await active_user(identity, "disabled@example.com")
    identity.execute("UPDATE users SET status = 'disabled' WHERE id = %s", user_id)
    answer = await sign_in(identity.client, "disabled@example.com")
    assert (answer.status_code, answer.json()["code"]) == (403, "account_disabled")
    wrong = await sign_in(identity.client, "disabled@example.com", WRONG)
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
