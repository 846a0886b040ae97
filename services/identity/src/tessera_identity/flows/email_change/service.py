"""Changing the account's email: a code to the new address, a notice to the old one.

pending (an unverified email credential beside the current one, a code sent to it) →
changed (the code entered: the new address is verified, the old one deleted and can no longer
sign in). A new request replaces a pending one; the code's lifetime bounds the pending state.
"""

from uuid import UUID

import msgspec

from tessera_identity.domain.credentials import CredentialType, normalize_email
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.flows.codes.service import Codes
from tessera_identity.flows.credentials.pending import add_pending_address
from tessera_identity.flows.mfa.factors import MfaProfile, require_profile
from tessera_identity.ports import (
    Clock,
    Credential,
    CredentialTakenError,
    UnitOfWorkFactory,
)
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import Code, TesseraError


class RequestEmailChange(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    new_email: str
    client_ip: str


class ConfirmEmailChange(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    otp: str
    client_ip: str


def current_email(profile: MfaProfile) -> Credential | None:
    """The address the account signs in with: verified, or an /auth one not verified yet."""
    return next(
        (
            c
            for c in profile.credentials
            if c.type == CredentialType.EMAIL and (c.verified_at or c.sign_in_unverified)
        ),
        None,
    )


def pending_change(profile: MfaProfile) -> Credential | None:
    return next(
        (
            c
            for c in profile.credentials
            if c.type == CredentialType.EMAIL and not c.verified_at and not c.sign_in_unverified
        ),
        None,
    )


class EmailChange:
    def __init__(self, uow: UnitOfWorkFactory, codes: Codes, clock: Clock) -> None:
        self._uow = uow
        self._codes = codes
        self._clock = clock

    async def request(self, cmd: RequestEmailChange) -> None:
        address = normalize_email(cmd.new_email)
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, cmd.user_id, active=True)
            current = current_email(profile)
            if current is not None and current.value == address:
                raise TesseraError(Code.CREDENTIAL_ALREADY_VERIFIED)
            await add_pending_address(
                uow,
                self._codes,
                profile.user,
                CredentialType.EMAIL,
                address,
                OtpPurpose.EMAIL_CHANGE,
                cmd.client_ip,
                now,
            )
            if current is not None:
                await self._codes.notify(
                    uow,
                    profile.user,
                    DeliveryKind.EMAIL_CHANGE_NOTICE,
                    cmd.client_ip,
                    now,
                    to=(current.type, current.value),
                )
            await uow.commit()

    async def confirm(self, cmd: ConfirmEmailChange) -> str:
        """The new address, once the code sent to it was entered."""
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, cmd.user_id, active=True)
            pending = pending_change(profile)
            if pending is None:
                raise TesseraError(Code.OTP_INVALID)
            await self._codes.accept(
                uow, cmd.user_id, OtpPurpose.EMAIL_CHANGE, cmd.otp, now, recipient=pending.value
            )
            old = current_email(profile)
            if old is not None:
                await uow.users.delete_credential(old.id)
            try:
                await uow.users.verify_credential(pending.id, now)
            except CredentialTakenError:
                raise TesseraError(Code.CREDENTIAL_UNAVAILABLE) from None
            await uow.audit.record("email_changed", cmd.user_id, "email", cmd.client_ip)
            await uow.commit()
        return pending.value
