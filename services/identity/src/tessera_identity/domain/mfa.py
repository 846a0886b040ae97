"""Which second factor a sign-in asks for (`mfa_mode`), and how it changes. Pure.

Seed 001, Step 4: verifying a second credential turns 2FA on with that credential's channel.
A mode can only name a factor the user has; turning MFA off needs a fresh code (step-up).
"""

import enum

import msgspec

from tessera_identity.domain.credentials import CredentialType


class MfaMode(enum.StrEnum):
    NONE = "none"
    EMAIL = "email"
    SMS = "sms"
    TOTP = "totp"


class Factors(msgspec.Struct, frozen=True, kw_only=True):
    """What the user can prove possession of, beside the password."""

    email: bool
    """A verified email address."""
    phone: bool
    """A verified phone number."""
    totp: bool
    """A confirmed authenticator app."""


CHANNEL_MODE = {CredentialType.EMAIL: MfaMode.EMAIL, CredentialType.PHONE: MfaMode.SMS}


def available(factors: Factors) -> frozenset[MfaMode]:
    """The modes the user may choose."""
    modes = {MfaMode.NONE}
    if factors.email:
        modes.add(MfaMode.EMAIL)
    if factors.phone:
        modes.add(MfaMode.SMS)
    if factors.totp:
        modes.add(MfaMode.TOTP)
    return frozenset(modes)


def after_credential_verified(
    current: MfaMode, factors: Factors, verified: CredentialType
) -> MfaMode:
    """The mode once `verified` joined `factors` (which already include it).

    A second verified credential turns MFA on with its channel; a mode already on is kept,
    so adding an address never weakens or silently moves an existing second factor.
    """
    if current is MfaMode.NONE and factors.email and factors.phone:
        return CHANNEL_MODE[verified]
    return current


def after_totp_removed(current: MfaMode, factors: Factors) -> MfaMode:
    """The mode once the authenticator app is gone: SMS when the user has two credentials
    (the automatic rule), else off. Other modes are untouched."""
    if current is not MfaMode.TOTP:
        return current
    return MfaMode.SMS if factors.email and factors.phone else MfaMode.NONE


def needs_step_up(current: MfaMode, target: MfaMode) -> bool:
    """Turning MFA off must be confirmed with the current factor."""
    return current is not MfaMode.NONE and target is MfaMode.NONE


def newly_enabled(before: MfaMode, after: MfaMode) -> bool:
    """MFA went from off to on: the moment recovery codes are first handed out."""
    return before is MfaMode.NONE and after is not MfaMode.NONE
