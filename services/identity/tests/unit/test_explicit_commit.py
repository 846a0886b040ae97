"""Flows commit explicitly: a refused code keeps its spent attempt, and nothing else it did."""

import pytest

from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.guesses import GuessPolicy
from tessera_identity.domain.mfa import MfaMode
from tessera_identity.domain.secret_box import SecretBox
from tessera_identity.flows.email_change.service import (
    ConfirmEmailChange,
    EmailChange,
    RequestEmailChange,
)
from tessera_identity.flows.mfa.factors import Verifier
from tessera_identity.flows.mfa.service import Mfa, SetMfaMode
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import TesseraError

from .fakes import Fixture


def mfa(f: Fixture) -> Mfa:
    box = SecretBox({"t1": b"t" * 32}, "t1")
    return Mfa(f.uow, f.views(), f.codes, Verifier(f.codes, box, GuessPolicy()), f.clock, b"r" * 32)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


async def test_a_block_that_does_not_commit_leaves_the_world_as_it_was() -> None:
    f = Fixture()
    user = f.add_user()
    async with f.uow() as uow:
        await uow.users.set_mfa_mode(user.id, MfaMode.EMAIL)
    assert f.world.users[user.id].mfa_mode is MfaMode.NONE
    assert f.world.commits == 0


async def test_a_wrong_step_up_code_is_counted_and_mfa_stays_on() -> None:
    f = Fixture()
    user = f.add_user(phone="+41791234567", mfa_mode=MfaMode.SMS)
    flow = mfa(f)
    sent = await flow.send_step_up_code(user.id, "10.0.0.1")
    assert sent.channel == "sms"
    off = SetMfaMode(user_id=user.id, mode=MfaMode.NONE, otp=wrong(f.last_code()), client_ip="ip")
    with pytest.raises(TesseraError) as refused:
        await flow.set_mode(off)
    assert refused.value.code == "otp_invalid"
    assert [o.attempts for o in f.world.otps] == [1]
    assert f.world.users[user.id].mfa_mode is MfaMode.SMS
    assert "mfa_mode_changed" not in f.world.events()

    right = SetMfaMode(user_id=user.id, mode=MfaMode.NONE, otp=f.last_code(), client_ip="ip")
    assert (await flow.set_mode(right)).mfa_mode is MfaMode.NONE
    assert f.world.users[user.id].mfa_mode is MfaMode.NONE


async def test_a_wrong_recovery_code_is_counted_and_tells_nobody() -> None:
    f = Fixture()
    user = f.add_user(mfa_mode=MfaMode.EMAIL)
    with pytest.raises(TesseraError) as refused:
        await mfa(f).use_recovery_code(user.id, "not-a-code", "ip")
    assert refused.value.code == "recovery_code_invalid"
    assert f.world.guesses[user.id].failures == 1
    assert f.world.outbox == []


async def test_a_wrong_email_change_code_is_counted_and_the_old_address_stays() -> None:
    f = Fixture()
    user = f.add_user(email="old@example.com")
    flow = EmailChange(f.uow, f.codes, f.clock)
    await flow.request(
        RequestEmailChange(user_id=user.id, new_email="new@example.com", client_ip="ip")
    )
    kinds = [(d.kind, d.recipient) for d in f.world.deliveries()]
    assert kinds == [
        (DeliveryKind.CREDENTIAL_CODE, "new@example.com"),
        (DeliveryKind.EMAIL_CHANGE_NOTICE, "old@example.com"),
    ]
    code = f.world.deliveries()[0].code
    assert code is not None
    with pytest.raises(TesseraError) as refused:
        await flow.confirm(ConfirmEmailChange(user_id=user.id, otp=wrong(code), client_ip="ip"))
    assert refused.value.code == "otp_invalid"
    assert [o.attempts for o in f.world.otps] == [1]
    emails = [(c.value, c.verified_at is not None) for c in f.world.credentials]
    assert emails == [("old@example.com", True), ("new@example.com", False)]

    assert await flow.confirm(ConfirmEmailChange(user_id=user.id, otp=code, client_ip="ip")) == (
        "new@example.com"
    )
    assert [(c.type, c.value) for c in f.world.credentials] == [
        (CredentialType.EMAIL, "new@example.com")
    ]
