"""Registration's states on in-memory ports: pending → active, and what a code refusal keeps."""

import pytest

from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.passwords import PasswordPolicy
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.registration.service import (
    InitiateRegistration,
    Registration,
    VerifyRegistration,
)
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import TesseraError

from .fakes import Fixture


def registration(f: Fixture) -> Registration:
    return Registration(f.uow, f.hasher, PasswordPolicy(common=frozenset()), f.codes, f.clock)


def initiate(address: str = "new@example.com") -> InitiateRegistration:
    return InitiateRegistration(
        credential_type=CredentialType.EMAIL,
        credential_value=address,
        password="a long enough passphrase",
        terms_accepted=True,
        privacy_policy_accepted=True,
        locale="de",
        client_ip="10.0.0.1",
    )


def verify(user_id, otp: str) -> VerifyRegistration:  # type: ignore[no-untyped-def]
    return VerifyRegistration(user_id=user_id, credential_type=CredentialType.EMAIL, otp=otp)


async def test_initiating_makes_a_pending_account_and_sends_its_code_in_its_language() -> None:
    f = Fixture()
    started = await registration(f).initiate(initiate())
    assert started.channel == "email"
    assert f.world.users[started.user_id].status is AccountStatus.PENDING
    [delivery] = f.world.deliveries()
    assert delivery.kind is DeliveryKind.REGISTRATION_CODE
    assert (delivery.recipient, delivery.locale) == ("new@example.com", "de")


async def test_the_code_activates_the_account_and_a_second_use_is_refused() -> None:
    f = Fixture()
    flow = registration(f)
    started = await flow.initiate(initiate())
    await flow.verify(verify(started.user_id, f.last_code()))
    assert f.world.users[started.user_id].status is AccountStatus.ACTIVE
    with pytest.raises(TesseraError) as again:
        await flow.verify(verify(started.user_id, f.last_code()))
    assert again.value.code == "otp_used"


async def test_a_wrong_code_is_refused_its_attempt_stays_spent_and_nothing_else_changes() -> None:
    f = Fixture()
    flow = registration(f)
    started = await flow.initiate(initiate())
    wrong = "000000" if f.last_code() != "000000" else "111111"
    with pytest.raises(TesseraError) as refused:
        await flow.verify(verify(started.user_id, wrong))
    assert refused.value.code == "otp_invalid"
    assert [o.attempts for o in f.world.otps] == [1]
    assert f.world.users[started.user_id].status is AccountStatus.PENDING


async def test_an_address_already_in_use_gets_a_notice_and_the_caller_a_decoy_id() -> None:
    f = Fixture()
    owner = f.add_user(email="taken@example.com")
    started = await registration(f).initiate(initiate("taken@example.com"))
    assert started.user_id not in f.world.users
    [notice] = f.world.deliveries()
    assert notice.kind is DeliveryKind.REGISTRATION_NOTICE
    assert (notice.recipient, notice.user_id, notice.code) == (
        "taken@example.com",
        str(owner.id),
        None,
    )
    assert [to for to, _, _ in f.world.ledger].count("taken@example.com") == 1  # counted
    with pytest.raises(TesseraError) as refused:
        await registration(f).verify(verify(started.user_id, "123456"))
    assert refused.value.code == "otp_invalid"
