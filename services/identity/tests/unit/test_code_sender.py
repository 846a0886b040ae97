"""The one sender of codes and notices (`flows/codes/service.py`): channel, caps, counting."""

import pytest

from tessera_identity.domain.code_policy import CodePolicy
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.mfa import REACH, MfaMode, channel_for, reach_by_mode
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.ports import User
from tessera_shared.contracts.events import Channel, DeliveryKind
from tessera_shared.errors import TesseraError

from .fakes import Fixture


async def send_login_code(
    f: Fixture, user: User, kind: CredentialType, address: str, *, cooldown: bool = False
) -> Channel:
    async with f.uow() as uow:
        sent = await f.codes.send_code(
            uow, user, kind, address, OtpPurpose.LOGIN, "10.0.0.1", f.clock.now(), cooldown=cooldown
        )
        await uow.commit()
    assert sent.expires_in_s == f.codes.policy.ttl_s
    return sent.channel


def test_one_table_pairs_each_code_mode_with_its_credential_and_channel() -> None:
    assert [(r.mode, r.credential, r.channel) for r in REACH] == [
        (MfaMode.EMAIL, CredentialType.EMAIL, "email"),
        (MfaMode.SMS, CredentialType.PHONE, "sms"),
    ]
    assert reach_by_mode(MfaMode.TOTP) is None
    assert reach_by_mode(MfaMode.NONE) is None
    assert channel_for(CredentialType.PHONE) == "sms"


async def test_a_code_travels_by_the_channel_of_its_credential_in_the_users_language() -> None:
    f = Fixture()
    user = f.add_user(email=None, phone="+41791234567", locale="fr")
    channel = await send_login_code(f, user, CredentialType.PHONE, "+41791234567")
    [delivery] = f.world.deliveries()
    assert channel == delivery.channel == "sms"
    assert (delivery.kind, delivery.locale) == (DeliveryKind.LOGIN_CODE, "fr")
    assert delivery.expires_in_s == f.codes.policy.ttl_s
    assert [o.row.channel for o in f.world.otps] == ["sms"]


async def test_codes_to_one_address_stop_at_the_hourly_cap_and_resends_wait_for_the_cooldown() -> (
    None
):
    f = Fixture(CodePolicy(per_recipient_per_hour=2, cooldown_s=60))
    user = f.add_user()

    async def send(*, cooldown: bool = False) -> None:
        await send_login_code(f, user, CredentialType.EMAIL, "ada@example.com", cooldown=cooldown)

    await send()
    with pytest.raises(TesseraError) as early:
        await send(cooldown=True)
    assert (early.value.code, early.value.headers) == ("resend_too_soon", {"retry-after": "60"})
    f.clock.advance(60)
    await send(cooldown=True)
    with pytest.raises(TesseraError) as capped:
        await send()
    assert capped.value.code == "too_many_codes"
    assert len(f.world.deliveries()) == 2


async def test_a_notice_goes_to_the_contact_uncounted_even_when_the_caps_are_reached() -> None:
    f = Fixture(CodePolicy(per_recipient_per_hour=1))
    user = f.add_user(phone="+41791234567")
    await send_login_code(f, user, CredentialType.EMAIL, "ada@example.com")
    async with f.uow() as uow:
        await f.codes.notify(uow, user, DeliveryKind.PASSWORD_CHANGED_NOTICE, "ip", f.clock.now())
        await uow.commit()
    notice = f.world.deliveries()[-1]
    assert (notice.kind, notice.channel, notice.recipient, notice.code) == (
        DeliveryKind.PASSWORD_CHANGED_NOTICE,
        "email",
        "ada@example.com",
        None,
    )
    assert len(f.world.ledger) == 1  # the code only


async def test_a_notice_for_a_user_without_a_verified_address_sends_nothing() -> None:
    f = Fixture()
    user = f.add_user(verified=False)
    async with f.uow() as uow:
        await f.codes.notify(uow, user, DeliveryKind.ACCOUNT_LOCKED_NOTICE, "ip", f.clock.now())
        await uow.commit()
    assert f.world.outbox == []
