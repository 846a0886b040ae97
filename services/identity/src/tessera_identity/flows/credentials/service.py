"""A signed-in user adds an email or phone credential and verifies it with a code.

Verifying the second credential turns 2FA on with its channel (seed 001, Step 4), and the
first time MFA goes on the user gets recovery codes, shown once.
"""

from datetime import datetime
from uuid import UUID

import msgspec

from tessera_identity.domain.credentials import CredentialType, normalize, normalize_phone
from tessera_identity.domain.mfa import after_credential_verified
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.flows.codes.service import Codes
from tessera_identity.flows.credentials.pending import add_pending_address
from tessera_identity.flows.mfa.factors import (
    MfaProfile,
    ModeChanged,
    apply_mode,
    profile_for_update,
    require_profile,
)
from tessera_identity.ports import (
    Clock,
    Credential,
    CredentialTakenError,
    UnitOfWork,
    UnitOfWorkFactory,
)
from tessera_shared.contracts.events import Channel
from tessera_shared.errors import Code, TesseraError


class AddCredential(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    type: CredentialType
    value: str
    client_ip: str
    region: str | None = None
    """ISO 3166 country a phone number without `+` is read in (guide 003's `country`)."""


class VerifyCredential(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    type: CredentialType
    otp: str
    client_ip: str


class Credentials:
    def __init__(
        self, uow: UnitOfWorkFactory, codes: Codes, clock: Clock, recovery_key: bytes
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._clock = clock
        self._recovery_key = recovery_key

    @property
    def code_ttl_s(self) -> int:
        return self._codes.policy.ttl_s

    async def add(self, cmd: AddCredential) -> Channel:
        """A new unverified credential (replacing an unverified one of the same type) and a
        code sent to it."""
        if cmd.type is CredentialType.PHONE and cmd.region:
            address = normalize_phone(cmd.value, cmd.region)
        else:
            address = normalize(cmd.type, cmd.value)
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, cmd.user_id, active=True)
            if any(
                c.type == cmd.type and (c.verified_at or c.sign_in_unverified)
                for c in profile.credentials
            ):
                raise TesseraError(Code.CREDENTIAL_ALREADY_VERIFIED)
            channel = await add_pending_address(
                uow,
                self._codes,
                profile.user,
                cmd.type,
                address,
                OtpPurpose.CREDENTIAL,
                cmd.client_ip,
                now,
            )
            await uow.commit()
        return channel

    async def resend(self, user_id: UUID, kind: CredentialType, client_ip: str) -> Channel:
        """A new code for the user's unverified credential of `kind` (guide 003's
        `GET /auth/otp/code`); 422 when there is none, 409 when it is verified already."""
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, user_id)
            if profile.verified(kind) is not None:
                raise TesseraError(Code.CREDENTIAL_ALREADY_VERIFIED)
            pending = next(
                (c for c in profile.credentials if c.type == kind and c.verified_at is None), None
            )
            if pending is None:
                raise TesseraError(Code.MFA_FACTOR_UNAVAILABLE)
            sent = await self._codes.send_code(
                uow,
                profile.user,
                kind,
                pending.value,
                OtpPurpose.CREDENTIAL,
                client_ip,
                now,
                cooldown=True,
            )
            await uow.commit()
        return sent.channel

    async def verify(self, cmd: VerifyCredential) -> ModeChanged:
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await profile_for_update(uow, cmd.user_id)
            pending = next(
                (
                    c
                    for c in (profile.credentials if profile else [])
                    if c.type == cmd.type and c.verified_at is None
                ),
                None,
            )
            if profile is None or pending is None:
                raise TesseraError(Code.OTP_INVALID)
            await self._codes.accept(
                uow, cmd.user_id, OtpPurpose.CREDENTIAL, cmd.otp, now, recipient=pending.value
            )
            changed = await self._verified(uow, profile, pending, cmd.client_ip, now)
            await uow.commit()
        return changed

    async def _verified(
        self,
        uow: UnitOfWork,
        profile: MfaProfile,
        pending: Credential,
        client_ip: str,
        now: datetime,
    ) -> ModeChanged:
        try:
            await uow.users.verify_credential(pending.id, now)
        except CredentialTakenError:
            raise TesseraError(Code.CREDENTIAL_UNAVAILABLE) from None
        await uow.audit.record("credential_verified", profile.user.id, pending.type, client_ip)
        verified = msgspec.structs.replace(pending, verified_at=now)
        after = msgspec.structs.replace(
            profile,
            credentials=[verified if c.id == pending.id else c for c in profile.credentials],
        )
        mode = after_credential_verified(profile.mode, after.factors, pending.type)
        return await apply_mode(uow, self._recovery_key, profile, mode, client_ip)
