"""What the MFA flows share: the user's factors, the step-up check, issuing recovery codes.

Everything here works inside the caller's unit of work.
"""

from datetime import datetime
from uuid import UUID

import msgspec

from tessera_identity.domain import recovery
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.mfa import Factors, MfaMode
from tessera_identity.domain.otp import VERDICT_ERRORS, OtpPurpose, Verdict
from tessera_identity.domain.secret_box import SecretBox
from tessera_identity.domain.totp import TotpVerdict, judge
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import Credential, StoredTotp, UnitOfWork, User


class ModeChanged(msgspec.Struct, frozen=True, kw_only=True):
    mfa_mode: str
    recovery_codes: list[str] | None = None
    """Only when MFA was just turned on for the first time: shown once, never again."""


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """A user with everything the MFA rules look at."""

    user: User
    credentials: list[Credential]
    totp: StoredTotp | None

    @property
    def mode(self) -> MfaMode:
        return MfaMode(self.user.mfa_mode)

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


async def profile_for_update(uow: UnitOfWork, user_id: UUID) -> Profile | None:
    """The user's row locked: MFA changes of one user run one after the other."""
    user = await uow.users.get_for_update(user_id)
    if user is None:
        return None
    credentials = await uow.users.credentials_of(user_id)
    return Profile(user=user, credentials=credentials, totp=await uow.totp.get_for_update(user_id))


TOTP_ERRORS = {TotpVerdict.WRONG: "otp_invalid", TotpVerdict.REPLAYED: "otp_used"}


class Verifier:
    """Checks codes of the second factor: authenticator app codes and step-up codes."""

    def __init__(self, codes: Codes, box: SecretBox) -> None:
        self._codes = codes
        self._box = box

    async def totp(self, uow: UnitOfWork, totp: StoredTotp, otp: str, now: datetime) -> str | None:
        """None when `otp` is a fresh code of the app (its step is then used up), else the
        error code."""
        secret = self._box.open(totp.key_id, totp.secret_sealed, totp.user_id.bytes).decode()
        judgement = judge(secret, otp, now, totp.last_step)
        if judgement.verdict is not TotpVerdict.ACCEPTED:
            return TOTP_ERRORS[judgement.verdict]
        await uow.totp.use_step(totp.user_id, judgement.step)
        return None

    async def step_up(
        self, uow: UnitOfWork, profile: Profile, otp: str | None, now: datetime
    ) -> str | None:
        """None when `otp` proves the current factor now, else the error code to answer after
        the unit of work commits (wrong guesses stay counted)."""
        if profile.mode is MfaMode.NONE:
            return None
        if not otp:
            return "step_up_required"
        if profile.mode is MfaMode.TOTP:
            assert profile.totp is not None  # mode totp implies a confirmed app
            return await self.totp(uow, profile.totp, otp, now)
        verdict, _ = await self._codes.verdict(uow, profile.user.id, OtpPurpose.STEP_UP, otp, now)
        return None if verdict is Verdict.ACCEPTED else VERDICT_ERRORS[verdict]


async def issue_recovery_codes(uow: UnitOfWork, key: bytes, user_id: UUID) -> list[str]:
    """A new set of recovery codes replacing any older set; the plain codes are returned once."""
    codes = recovery.generate()
    await uow.recovery.replace(user_id, [recovery.digest(key, user_id, c) for c in codes])
    return codes
