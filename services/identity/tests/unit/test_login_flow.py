"""The sign-in password check's rules, on in-memory ports: what is counted, when it locks."""

import asyncio
from typing import Any

import pytest

from tessera_identity.domain.lockout import LockoutPolicy, Reservation, Scope
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.login.service import Login, VerifyPassword
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import TesseraError

from .fakes import FakeHasher, FakeThrottle, Fixture

POLICY = LockoutPolicy(ip_failures=3, account_failures=5, slot_wait_s=0)


def login(f: Fixture) -> Login:
    return Login(f.uow, f.hasher, POLICY, f.codes, f.clock, b"s" * 32)


def attempt(password: str, ip: str = "10.0.0.1", username: str = "ada@example.com"):
    return VerifyPassword(username=username, password=password, client_ip=ip)


async def refusal(flow: Login, cmd: VerifyPassword) -> TesseraError:
    with pytest.raises(TesseraError) as refused:
        await flow.verify_password(cmd)
    return refused.value


async def test_the_right_password_answers_the_account_and_clears_the_failures() -> None:
    f = Fixture()
    user = f.add_user()
    flow = login(f)
    assert (await refusal(flow, attempt("wrong"))).code == "invalid_credentials"
    result = await flow.verify_password(attempt("correct horse battery"))
    assert result.user_id == user.id
    assert result.status is AccountStatus.ACTIVE
    assert all(c.failures == 0 and c.in_flight == 0 for c in f.world.throttle.values())
    assert f.world.events() == ["login_failed", "login_succeeded"]


async def test_the_failures_from_one_ip_lock_even_the_right_password_out() -> None:
    f = Fixture()
    f.add_user()
    flow = login(f)
    for _ in range(POLICY.ip_failures):
        assert (await refusal(flow, attempt("wrong"))).code == "invalid_credentials"
    locked = await refusal(flow, attempt("correct horse battery"))
    assert locked.code == "account_locked"
    assert locked.headers == {"retry-after": str(POLICY.lock_duration(Scope.ACCOUNT_IP, 0))}
    assert (await refusal(flow, attempt("correct horse battery"))).code == "account_locked"
    assert f.world.events().count("account_locked") == 1


async def test_a_new_lock_tells_the_owner_once_without_counting_against_their_caps() -> None:
    f = Fixture()
    f.add_user()
    flow = login(f)
    for _ in range(POLICY.ip_failures + 2):
        await refusal(flow, attempt("wrong"))
    notices = [d for d in f.world.deliveries() if d.kind is DeliveryKind.ACCOUNT_LOCKED_NOTICE]
    assert [(n.channel, n.recipient) for n in notices] == [("email", "ada@example.com")]
    assert f.world.ledger == []


async def test_another_ip_may_still_try_while_one_ip_is_locked() -> None:
    f = Fixture()
    user = f.add_user()
    flow = login(f)
    for _ in range(POLICY.ip_failures + 1):
        await refusal(flow, attempt("wrong", ip="10.0.0.1"))
    result = await flow.verify_password(attempt("correct horse battery", ip="10.0.0.2"))
    assert result.user_id == user.id


async def test_unknown_usernames_are_refused_and_counted_like_wrong_passwords() -> None:
    f = Fixture()
    flow = login(f)
    for _ in range(POLICY.ip_failures):
        cmd = attempt("whatever", username="nobody@example.com")
        assert (await refusal(flow, cmd)).code == "invalid_credentials"
    cmd = attempt("whatever", username="nobody@example.com")
    assert (await refusal(flow, cmd)).code == "account_locked"
    assert f.world.deliveries() == []  # nobody to tell


async def test_a_pending_or_disabled_account_is_refused_after_its_password_is_checked() -> None:
    f = Fixture()
    f.add_user(email="p@example.com", verified=False, status=AccountStatus.PENDING)
    f.add_user(email="d@example.com", status=AccountStatus.DISABLED)
    flow = login(f)
    pending = attempt("correct horse battery", username="p@example.com")
    assert (await refusal(flow, pending)).code == "account_not_verified"
    disabled = attempt("correct horse battery", username="d@example.com")
    assert (await refusal(flow, disabled)).code == "account_disabled"


class GatedHasher(FakeHasher):
    """Checks a password only once the test opens the gate: an attempt held in flight."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def verify(self, password_hash: str, password: str) -> bool:
        await self.gate.wait()
        return await super().verify(password_hash, password)


async def test_a_waiting_attempt_wakes_when_the_slot_frees_instead_of_polling_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    f = Fixture()
    user = f.add_user()
    hasher = GatedHasher()
    one_slot = LockoutPolicy(ip_failures=1, account_failures=5, slot_wait_s=5)
    flow = Login(f.uow, hasher, one_slot, f.codes, f.clock, b"s" * 32)
    reservations = 0
    reserve = FakeThrottle.reserve

    async def counted(self: FakeThrottle, *args: Any) -> Reservation:
        nonlocal reservations
        reservations += 1
        return await reserve(self, *args)

    monkeypatch.setattr(FakeThrottle, "reserve", counted)
    first = asyncio.ensure_future(flow.verify_password(attempt("correct horse battery")))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(flow.verify_password(attempt("correct horse battery")))
    started = asyncio.get_running_loop().time()
    await asyncio.sleep(0.5)  # the second waits for the one slot all along
    waited = asyncio.get_running_loop().time() - started
    assert not second.done()
    # The holder's two scopes, the waiter's first look, then at most one look per fallback
    # poll (>= 0.125 s apart). Polling every 20-40 ms made it 19 in 0.5 s.
    assert reservations <= 2 + 1 + 1 + int(waited / 0.125)
    hasher.gate.set()
    assert (await first).user_id == user.id
    assert (await asyncio.wait_for(second, 0.1)).user_id == user.id
