"""Authenticator apps (TOTP): set up, confirm with a first code, remove; codes at sign-in.

The secret is sealed with AES-GCM (key id stored, so keys rotate) and bound to its user.
During a sign-in whose policy requires TOTP, the MFA challenge token may stand in for the
access token on setup and confirm, but only for a user without any second factor yet, so a
password alone can never swap an existing factor for the attacker's app.
"""

from uuid import UUID

import msgspec

from tessera_identity.domain import totp
from tessera_identity.domain.mfa import MfaMode, after_totp_removed
from tessera_identity.domain.secret_box import SecretBox
from tessera_identity.domain.totp import TotpVerdict
from tessera_identity.flows.mfa.factors import (
    TOTP_ERRORS,
    MfaProfile,
    ModeChanged,
    Verifier,
    apply_mode,
    require_profile,
)
from tessera_identity.ports import Clock, UnitOfWork, UnitOfWorkFactory
from tessera_shared.errors import Code, TesseraError


class Enrolling(msgspec.Struct, frozen=True, kw_only=True):
    """Who sets up an app: a signed-in user, or one in a sign-in that requires TOTP."""

    user_id: UUID
    challenge_mode: MfaMode | None = None
    """The `mfa_mode` of the challenge token used instead of an access token."""


class TotpEnrollment(msgspec.Struct, frozen=True, kw_only=True):
    secret: str
    uri: str
    qr_code: str


class Totp:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        box: SecretBox,
        verifier: Verifier,
        clock: Clock,
        issuer: str,
        recovery_key: bytes,
    ) -> None:
        self._uow = uow
        self._box = box
        self._verifier = verifier
        self._clock = clock
        self._issuer = issuer
        self._recovery_key = recovery_key

    async def setup(self, who: Enrolling) -> TotpEnrollment:
        """A new pending secret (replacing an unconfirmed one)."""
        async with self._uow() as uow:
            profile = await self._enrolling(uow, who)
            if profile.factors.totp:
                raise TesseraError(Code.TOTP_ALREADY_ENABLED)
            secret = totp.new_secret()
            key_id, sealed = self._box.seal(secret.encode(), who.user_id.bytes)
            await uow.totp.put_pending(who.user_id, key_id, sealed)
            contact = await uow.users.contact(who.user_id)
            await uow.commit()
        uri = totp.provisioning_uri(secret, contact.value if contact else "", self._issuer)
        return TotpEnrollment(secret=secret, uri=uri, qr_code=totp.qr_svg_data_uri(uri))

    async def confirm(self, who: Enrolling, otp: str, client_ip: str) -> ModeChanged:
        """The first code turns the app on and makes it the sign-in factor."""
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await self._enrolling(uow, who)
            if profile.totp is None:
                raise TesseraError(Code.TOTP_NOT_ENABLED)
            if profile.totp.confirmed_at is not None:
                raise TesseraError(Code.TOTP_ALREADY_ENABLED)
            judgement = self._verifier.judge(profile.totp, otp, now)
            if judgement.verdict is not TotpVerdict.ACCEPTED:
                raise TesseraError(TOTP_ERRORS[judgement.verdict])
            await uow.totp.confirm(who.user_id, now, judgement.step)
            await uow.audit.record("totp_enabled", who.user_id, "", client_ip)
            changed = await apply_mode(uow, self._recovery_key, profile, MfaMode.TOTP, client_ip)
            await uow.commit()
        return changed

    async def remove(self, user_id: UUID, otp: str | None, client_ip: str) -> ModeChanged:
        """With a current code of the app; the mode falls back (see `after_totp_removed`).

        A secret set up but never confirmed is removed the same way (guide 003: a person who
        abandons the setup deletes it with a code of that secret)."""
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await require_profile(uow, user_id)
            if profile.totp is None:
                raise TesseraError(Code.TOTP_NOT_ENABLED)
            if not otp:
                raise TesseraError(Code.STEP_UP_REQUIRED)
            await self._verifier.totp(uow, profile.totp, otp, now)
            await uow.totp.delete(user_id)
            await uow.audit.record("totp_removed", user_id, "", client_ip)
            without = msgspec.structs.replace(profile, totp=None)
            mode = after_totp_removed(profile.mode, without.factors)
            changed = await apply_mode(uow, self._recovery_key, profile, mode, client_ip)
            await uow.commit()
        return changed

    async def verify(self, user_id: UUID, otp: str) -> None:
        """A sign-in's second factor: a fresh code of the confirmed app."""
        now = self._clock.now()
        async with self._uow() as uow:
            stored = await uow.totp.get_for_update(user_id)
            if stored is None or stored.confirmed_at is None:
                raise TesseraError(Code.TOTP_NOT_ENABLED)
            await self._verifier.totp(uow, stored, otp, now)
            await uow.commit()

    async def _enrolling(self, uow: UnitOfWork, who: Enrolling) -> MfaProfile:
        profile = await require_profile(uow, who.user_id)
        if who.challenge_mode is not None and (
            who.challenge_mode != MfaMode.TOTP or profile.mode is not MfaMode.NONE
        ):
            raise TesseraError(Code.FORBIDDEN)
        return profile
