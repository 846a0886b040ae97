"""The user's second factor: what they have, choosing the mode, step-up codes, recovery codes.

Turning MFA off and generating new recovery codes need a fresh code of the current factor
(step-up): a stolen access token alone cannot weaken the account.
"""

from datetime import datetime
from uuid import UUID

import msgspec

from tessera_identity.domain import recovery
from tessera_identity.domain.mfa import MfaMode, available, needs_step_up, reach_by_mode
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.codes.service import CodeIssued, Codes
from tessera_identity.flows.mfa.factors import (
    MfaProfile,
    ModeChanged,
    Verifier,
    apply_mode,
    issue_recovery_codes,
    profile_for_update,
    require_profile,
)
from tessera_identity.ports import (
    AccountViews,
    Activity,
    Clock,
    Credential,
    StoredTotp,
    UnitOfWork,
    UnitOfWorkFactory,
)
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import Code, TesseraError


class SetMfaMode(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    mode: MfaMode
    otp: str | None
    client_ip: str


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    status: AccountStatus
    locale: str
    name: str | None = None
    mfa_mode: MfaMode
    credentials: list[Credential]
    totp: StoredTotp | None
    available_modes: list[MfaMode]
    activity: Activity


class Mfa:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        views: AccountViews,
        codes: Codes,
        verifier: Verifier,
        clock: Clock,
        recovery_key: bytes,
    ) -> None:
        self._uow = uow
        self._views = views
        self._codes = codes
        self._verifier = verifier
        self._clock = clock
        self._recovery_key = recovery_key

    async def overview(self, user_id: UUID) -> Overview:
        """What the account pages show; 403 for a valid token of an account that is gone."""
        seen = await self._views.get(user_id)
        if seen is None:
            raise TesseraError(Code.FORBIDDEN)
        profile = MfaProfile(user=seen.user, credentials=seen.credentials, totp=seen.totp)
        return Overview(
            user_id=seen.user.id,
            status=seen.user.status,
            locale=seen.user.locale,
            name=seen.user.name,
            mfa_mode=seen.user.mfa_mode,
            credentials=seen.credentials,
            totp=seen.totp,
            available_modes=sorted(available(profile.factors)),
            activity=seen.activity,
        )

    async def set_mode(self, cmd: SetMfaMode) -> ModeChanged:
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, cmd.user_id)
            if cmd.mode not in available(profile.factors):
                raise TesseraError(Code.MFA_FACTOR_UNAVAILABLE)
            if needs_step_up(profile.mode, cmd.mode):
                await self._verifier.step_up(uow, profile, cmd.otp, now)
            changed = await apply_mode(uow, self._recovery_key, profile, cmd.mode, cmd.client_ip)
            await uow.commit()
        return changed

    async def send_step_up_code(self, user_id: UUID, client_ip: str) -> CodeIssued:
        """A code to the channel of the user's email/sms mode, to confirm a security change."""
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, user_id)
            reach = reach_by_mode(profile.mode)
            credential = profile.verified(reach.credential) if reach else None
            if credential is None:
                raise TesseraError(Code.MFA_FACTOR_UNAVAILABLE)  # totp: the app shows the code
            sent = await self._codes.send_code(
                uow,
                profile.user,
                credential.type,
                credential.value,
                OtpPurpose.STEP_UP,
                client_ip,
                now,
            )
            await uow.commit()
        return sent

    async def regenerate_recovery_codes(
        self, user_id: UUID, otp: str | None, client_ip: str
    ) -> list[str]:
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, user_id)
            if profile.mode is MfaMode.NONE:
                raise TesseraError(Code.MFA_FACTOR_UNAVAILABLE)
            await self._verifier.step_up(uow, profile, otp, now)
            codes = await issue_recovery_codes(uow, self._recovery_key, user_id)
            await uow.audit.record("recovery_codes_generated", user_id, "", client_ip)
            await uow.commit()
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
                raise TesseraError(Code.RECOVERY_CODE_INVALID)
            guesses = await self._verifier.guard(uow, user_id, now)
            if not await uow.recovery.use(user_id, digest, now):
                await self._verifier.count_wrong(uow, user_id, guesses, now)
                await uow.commit()  # the wrong code stays counted
                raise TesseraError(Code.RECOVERY_CODE_INVALID)
            await uow.guesses.clear(user_id)
            await self._recovery_used(uow, profile, client_ip, now, disable_mfa=disable_mfa)
            await uow.commit()

    async def _recovery_used(
        self,
        uow: UnitOfWork,
        profile: MfaProfile,
        client_ip: str,
        now: datetime,
        *,
        disable_mfa: bool,
    ) -> None:
        """Audit the use, apply `disable_mfa`, and tell the person."""
        user_id, user = profile.user.id, profile.user
        await uow.audit.record("recovery_code_used", user_id, "", client_ip)
        if disable_mfa:
            await uow.totp.delete(user_id)
            await apply_mode(uow, self._recovery_key, profile, MfaMode.NONE, client_ip)
        await self._codes.notify(uow, user, DeliveryKind.RECOVERY_CODE_USED_NOTICE, client_ip, now)
