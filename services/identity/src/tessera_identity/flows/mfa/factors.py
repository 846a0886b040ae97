"""What the MFA flows share: the user's factors, the step-up check, issuing recovery codes.

Everything here works inside the caller's unit of work.
"""

from datetime import datetime
from uuid import UUID

import msgspec

from tessera_identity.domain import recovery
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.guesses import Guesses, GuessPolicy, after_wrong, refused_for
from tessera_identity.domain.mfa import Factors, MfaMode, newly_enabled
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.domain.secret_box import SecretBox
from tessera_identity.domain.totp import Judgement, TotpVerdict, judge
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import Credential, StoredTotp, UnitOfWork, User
from tessera_shared.errors import Code, TesseraError


class ModeChanged(msgspec.Struct, frozen=True, kw_only=True):
    mfa_mode: MfaMode
    recovery_codes: list[str] | None = None
    """Only when MFA was just turned on for the first time: shown once, never again."""


class MfaProfile(msgspec.Struct, frozen=True, kw_only=True):
    """A user with everything the MFA rules look at."""

    user: User
    credentials: list[Credential]
    totp: StoredTotp | None

    @property
    def mode(self) -> MfaMode:
        return self.user.mfa_mode

    @property
    def factors(self) -> Factors:
        verified = {c.type for c in self.credentials if c.verified_at is not None}
        return Factors(
            email=CredentialType.EMAIL in verified,
            phone=CredentialType.PHONE in verified,
            totp=self.totp is not None and self.totp.confirmed_at is not None,
        )

    def verified(self, kind: CredentialType) -> Credential | None:
        return next(
            (c for c in self.credentials if c.type == kind and c.verified_at is not None), None
        )


async def profile_for_update(uow: UnitOfWork, user_id: UUID) -> MfaProfile | None:
    """The user's row locked: MFA changes of one user run one after the other."""
    user = await uow.users.get_for_update(user_id)
    if user is None:
        return None
    credentials = await uow.users.credentials_of(user_id)
    return MfaProfile(
        user=user, credentials=credentials, totp=await uow.totp.get_for_update(user_id)
    )


TOTP_ERRORS = {TotpVerdict.WRONG: Code.OTP_INVALID, TotpVerdict.REPLAYED: Code.OTP_USED}


class Verifier:
    """Checks codes of the second factor: authenticator app codes and step-up codes, and
    counts wrong app and recovery codes per account (`domain/guesses.py`)."""

    def __init__(self, codes: Codes, box: SecretBox, guesses: GuessPolicy) -> None:
        self._codes = codes
        self._box = box
        self._guesses = guesses

    async def guard(self, uow: UnitOfWork, user_id: UUID, now: datetime) -> Guesses:
        """The account's wrong-code count, locked; 429 `mfa_attempts_exceeded` (Retry-After:
        until the window passes) while it is at the limit."""
        guesses = await uow.guesses.lock(user_id, now)
        wait = refused_for(self._guesses, guesses, now)
        if wait:
            raise TesseraError(Code.MFA_ATTEMPTS_EXCEEDED, headers={"retry-after": str(wait)})
        return guesses

    async def count_wrong(
        self, uow: UnitOfWork, user_id: UUID, guesses: Guesses, now: datetime
    ) -> None:
        await uow.guesses.save(user_id, after_wrong(self._guesses, guesses, now))

    def judge(self, totp: StoredTotp, otp: str, now: datetime) -> Judgement:
        """The verdict on `otp` against the sealed secret, without using its step up."""
        secret = self._box.open(totp.key_id, totp.secret_sealed, totp.user_id.bytes).decode()
        return judge(secret, otp, now, totp.last_step)

    async def totp(self, uow: UnitOfWork, totp: StoredTotp, otp: str, now: datetime) -> None:
        """Returns when `otp` is a fresh code of the app (its step is then used up); else
        commits (a wrong code stays counted) and raises `otp_invalid` or `otp_used`. Raises
        `mfa_attempts_exceeded` without checking while the account is at its limit."""
        guesses = await self.guard(uow, totp.user_id, now)
        judgement = self.judge(totp, otp, now)
        if judgement.verdict is TotpVerdict.WRONG:
            await self.count_wrong(uow, totp.user_id, guesses, now)
        if judgement.verdict is not TotpVerdict.ACCEPTED:
            await uow.commit()
            raise TesseraError(TOTP_ERRORS[judgement.verdict])  # a replay was right: no guess
        await uow.totp.use_step(totp.user_id, judgement.step)
        await uow.guesses.clear(totp.user_id)

    async def step_up(
        self, uow: UnitOfWork, profile: MfaProfile, otp: str | None, now: datetime
    ) -> None:
        """Returns when `otp` proves the current factor now (or there is none); else commits
        (wrong guesses stay counted) and raises the refusal (`step_up_required`, ...)."""
        if profile.mode is MfaMode.NONE:
            return
        if not otp:
            raise TesseraError(Code.STEP_UP_REQUIRED)
        if profile.mode is MfaMode.TOTP:
            assert profile.totp is not None  # mode totp implies a confirmed app
            await self.totp(uow, profile.totp, otp, now)
            return
        await self._codes.accept(uow, profile.user.id, OtpPurpose.STEP_UP, otp, now)


async def issue_recovery_codes(uow: UnitOfWork, key: bytes, user_id: UUID) -> list[str]:
    """A new set of recovery codes replacing any older set; the plain codes are returned once."""
    codes = recovery.generate()
    await uow.recovery.replace(user_id, [recovery.digest(key, user_id, c) for c in codes])
    return codes


async def apply_mode(
    uow: UnitOfWork,
    recovery_key: bytes,
    profile: MfaProfile,
    mode: MfaMode,
    client_ip: str,
) -> ModeChanged:
    """Make `mode` the user's second factor, with what goes with it: the change audited,
    recovery codes handed out the first time MFA goes on and deleted when it goes off."""
    user_id = profile.user.id
    if mode is profile.mode:
        return ModeChanged(mfa_mode=mode)
    await uow.users.set_mfa_mode(user_id, mode)
    await uow.audit.record("mfa_mode_changed", user_id, mode, client_ip)
    if mode is MfaMode.NONE:
        await uow.recovery.replace(user_id, [])  # turned on again later: a fresh set
        return ModeChanged(mfa_mode=mode)
    codes = None
    if newly_enabled(profile.mode, mode) and not await uow.recovery.exist(user_id):
        codes = await issue_recovery_codes(uow, recovery_key, user_id)
        await uow.audit.record("recovery_codes_generated", user_id, "", client_ip)
    return ModeChanged(mfa_mode=mode, recovery_codes=codes)


async def require_profile(uow: UnitOfWork, user_id: UUID, *, active: bool = False) -> MfaProfile:
    """The user's locked profile; 403 for a valid token of an account that is gone (or, with
    `active`, not active)."""
    profile = await profile_for_update(uow, user_id)
    if profile is None or (active and profile.user.status != AccountStatus.ACTIVE):
        raise TesseraError(Code.FORBIDDEN)
    return profile
