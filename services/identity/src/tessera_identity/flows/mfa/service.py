"""The user's second factor: what they have, choosing the mode, step-up codes, recovery codes.

Turning MFA off and generating new recovery codes need a fresh code of the current factor
(step-up): a stolen access token alone cannot weaken the account.
"""

from datetime import datetime
from uuid import UUID

import msgspec

from tessera_identity.domain import recovery
from tessera_identity.domain.mfa import MfaMode, available, needs_step_up
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.flows.codes.service import Codes, Recipient, channel_for
from tessera_identity.flows.login.codes import MODE_CHANNEL, CodeSent
from tessera_identity.flows.mfa.factors import (
    ModeChanged,
    Profile,
    Verifier,
    apply_mode,
    issue_recovery_codes,
    profile_for_update,
    require_profile,
)
from tessera_identity.ports import (
    Activity,
    Clock,
    Credential,
    StoredTotp,
    UnitOfWork,
    UnitOfWorkFactory,
)
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import TesseraError


class SetMfaMode(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    mode: MfaMode
    otp: str | None
    client_ip: str


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    status: str
    locale: str
    name: str | None = None
    mfa_mode: str
    credentials: list[Credential]
    totp: StoredTotp | None
    available_modes: list[str]
    activity: Activity


class Mfa:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        codes: Codes,
        verifier: Verifier,
        clock: Clock,
        recovery_key: bytes,
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._verifier = verifier
        self._clock = clock
        self._recovery_key = recovery_key

    async def overview(self, user_id: UUID) -> Overview:
        async with self._uow() as uow:
            profile = await require_profile(uow, user_id)
            activity = await uow.users.activity(user_id)
        return Overview(
            user_id=profile.user.id,
            status=profile.user.status,
            locale=profile.user.locale,
            name=profile.user.name,
            mfa_mode=profile.user.mfa_mode,
            credentials=profile.credentials,
            totp=profile.totp,
            available_modes=sorted(available(profile.factors)),
            activity=activity,
        )

    async def set_mode(self, cmd: SetMfaMode) -> ModeChanged:
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, cmd.user_id)
            if cmd.mode not in available(profile.factors):
                raise TesseraError("mfa_factor_unavailable")
            refused = None
            if needs_step_up(profile.mode, cmd.mode):
                refused = await self._verifier.step_up(uow, profile, cmd.otp, now)
            if refused is None:
                changed = await apply_mode(
                    uow, self._recovery_key, profile, cmd.mode, cmd.client_ip
                )
        if refused is not None:
            raise TesseraError(refused)
        return changed

    async def send_step_up_code(self, user_id: UUID, client_ip: str) -> CodeSent:
        """A code to the channel of the user's email/sms mode, to confirm a security change."""
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, user_id)
            if profile.mode not in (MfaMode.EMAIL, MfaMode.SMS):
                raise TesseraError("mfa_factor_unavailable")  # totp: the app shows the code
            credential_type, channel = MODE_CHANNEL[profile.mode]
            credential = next(
                c
                for c in profile.credentials
                if c.type == credential_type and c.verified_at is not None
            )
            await self._codes.check_caps(uow, credential.value, client_ip, now)
            to = Recipient(
                user_id=user_id,
                channel=channel,
                address=credential.value,
                locale=profile.user.locale,
            )
            await self._codes.issue(uow, to, OtpPurpose.STEP_UP, client_ip, now)
        return CodeSent(channel=channel, expires_in_s=self._codes.policy.ttl_s)

    async def regenerate_recovery_codes(
        self, user_id: UUID, otp: str | None, client_ip: str
    ) -> list[str]:
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, user_id)
            if profile.mode is MfaMode.NONE:
                raise TesseraError("mfa_factor_unavailable")
            refused = await self._verifier.step_up(uow, profile, otp, now)
            if refused is None:
                codes = await issue_recovery_codes(uow, self._recovery_key, user_id)
                await uow.audit.record("recovery_codes_generated", user_id, "", client_ip)
        if refused is not None:
            raise TesseraError(refused)
        return codes

    async def use_recovery_code(
        self, user_id: UUID, code: str, client_ip: str, *, disable_mfa: bool = False
    ) -> None:
        """Spends one recovery code (second factor of a sign-in); audited, the user notified.

        `disable_mfa` (guide 002's recover-mfa: the factor was lost): MFA goes off, the app and
        the remaining recovery codes are removed; the person sets up a new factor later.
        """
        now = self._clock.now()
        digest = recovery.digest(self._recovery_key, user_id, code)
        async with self._uow() as uow:
            profile = await profile_for_update(uow, user_id)
            if profile is None:
                raise TesseraError("recovery_code_invalid")
            guesses = await self._verifier.guard(uow, user_id, now)
            used = await uow.recovery.use(user_id, digest, now)
            if not used:
                await self._verifier.count_wrong(uow, user_id, guesses, now)
            else:
                await uow.guesses.clear(user_id)
                await self._recovery_used(uow, profile, client_ip, now, disable_mfa=disable_mfa)
        if not used:  # after the unit of work: the wrong code stays counted
            raise TesseraError("recovery_code_invalid")

    async def _recovery_used(
        self, uow: UnitOfWork, profile: Profile, client_ip: str, now: datetime, *, disable_mfa: bool
    ) -> None:
        """Audit the use, apply `disable_mfa`, and tell the person."""
        user_id, user = profile.user.id, profile.user
        await uow.audit.record("recovery_code_used", user_id, "", client_ip)
        if disable_mfa:
            await uow.totp.delete(user_id)
            await apply_mode(uow, self._recovery_key, profile, MfaMode.NONE, client_ip)
        contact = await uow.users.contact(user_id)
        if contact is not None:
            to = Recipient(
                user_id=user_id,
                channel=channel_for(contact.type),
                address=contact.value,
                locale=user.locale,
            )
            # Not counted: a security notice must go out even when the caps are reached.
            await self._codes.send(
                uow, to, DeliveryKind.RECOVERY_CODE_USED_NOTICE, client_ip, now, counted=False
            )
