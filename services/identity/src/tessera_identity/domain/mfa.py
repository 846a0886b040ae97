"""Which second factor a sign-in asks for (`mfa_mode`), and how it changes. Pure.

Seed 001, Step 4: verifying a second credential turns 2FA on with that credential's channel.
A mode can only name a factor the user has; turning MFA off needs a fresh code (step-up).
"""

import enum

import msgspec

from tessera_identity.domain.credentials import CredentialType
from tessera_shared.contracts.events import Channel


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


class Reach(msgspec.Struct, frozen=True, kw_only=True):
    """How a person is reached: a code mode, the credential it goes to, the channel it takes."""

    mode: MfaMode
    """The `mfa_mode` whose codes go this way."""
    credential: CredentialType
    """The verified credential they are sent to."""
    channel: Channel
    """How otp-delivery sends them."""


REACH: tuple[Reach, ...] = (
    Reach(mode=MfaMode.EMAIL, credential=CredentialType.EMAIL, channel="email"),
    Reach(mode=MfaMode.SMS, credential=CredentialType.PHONE, channel="sms"),
)
"""The one table between modes, credential types and channels; every flow reads it."""
_BY_MODE = {r.mode: r for r in REACH}
_BY_CREDENTIAL = {r.credential: r for r in REACH}
_BY_CHANNEL = {r.channel: r for r in REACH}


def reach_by_mode(mode: MfaMode) -> Reach | None:
    """The row of a code mode; None for `none` and `totp`, which send no message."""
    return _BY_MODE.get(mode)


def reach_by_credential(kind: CredentialType) -> Reach:
    return _BY_CREDENTIAL[kind]


def reach_by_channel(channel: Channel) -> Reach:
    return _BY_CHANNEL[channel]


def channel_for(kind: CredentialType) -> Channel:
    """The channel messages to a credential of `kind` travel by."""
    return _BY_CREDENTIAL[kind].channel


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
        return reach_by_credential(verified).mode
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
