"""The user status object of guide 003, answered by its `/auth/otp/...` routes.

Addresses are obfuscated (`j***n@example.com`, `+41*******67`): the object may be shown on a
screen or logged by a client. Dates are ISO-8601; optional ones are left out when unknown.
"""

from datetime import datetime
from typing import Literal

import msgspec

from tessera_identity.domain.credentials import CredentialType, obfuscate_email, obfuscate_phone
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.mfa.service import Overview
from tessera_identity.flows.totp.service import TotpEnrollment
from tessera_identity.ports import Credential

ShownStatus = Literal["pending", "active", "disabled"]
SHOWN_STATUS: dict[AccountStatus, ShownStatus] = {
    AccountStatus.PENDING: "pending",
    AccountStatus.ACTIVE: "active",
    AccountStatus.DISABLED: "disabled",
}
"""The account status as the document spells it (a literal, not a schema of its own)."""


class UserStatus(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    email: str
    """Obfuscated email of the user (empty when the account has none)."""
    has_validated_email: bool
    email_verification_date: datetime | None = None
    has_validated_secret: bool
    """Whether the TOTP secret was confirmed with a code of the app."""
    secret_verification_date: datetime | None = None
    phone_number: str | None = None
    """Obfuscated E.164 phone number, verified or not yet."""
    has_validated_phone: bool
    phone_verification_date: datetime | None = None
    last_logged_date: datetime
    """Last sign-in; the account's creation until the first one."""
    status: ShownStatus
    last_logged_device: str
    """User agent of the last sign-in (empty before the first)."""
    last_password_change_date: datetime
    recovery_codes: list[str] | None = None
    """Only when this call turned MFA on for the first time: shown once (Tessera addition)."""
    secret: str | None = None
    """`POST /auth/otp/methods/totp` only: the new TOTP secret (Tessera addition)."""
    otpauth_uri: str | None = None
    """`POST /auth/otp/methods/totp` only: the `otpauth://` URI (Tessera addition)."""
    qr_code: str | None = None
    """`POST /auth/otp/methods/totp` only: the URI as an SVG QR code `data:` URI."""


def _shown(credentials: list[Credential], kind: CredentialType) -> Credential | None:
    """The verified credential of `kind`, else the newest one waiting for its code."""
    of_kind = [c for c in credentials if c.type == kind]
    verified = [c for c in of_kind if c.verified_at is not None]
    shown = verified or of_kind[-1:]
    return shown[0] if shown else None


def user_status(
    seen: Overview,
    *,
    recovery_codes: list[str] | None = None,
    enrollment: TotpEnrollment | None = None,
) -> UserStatus:
    """The status object; `recovery_codes` and a new app's `enrollment` only when just made."""
    email = _shown(seen.credentials, CredentialType.EMAIL)
    phone = _shown(seen.credentials, CredentialType.PHONE)
    confirmed = seen.totp.confirmed_at if seen.totp else None
    activity = seen.activity
    return UserStatus(
        email=obfuscate_email(email.value) if email else "",
        has_validated_email=bool(email and email.verified_at),
        email_verification_date=email.verified_at if email else None,
        has_validated_secret=confirmed is not None,
        secret_verification_date=confirmed,
        phone_number=obfuscate_phone(phone.value) if phone else None,
        has_validated_phone=bool(phone and phone.verified_at),
        phone_verification_date=phone.verified_at if phone else None,
        last_logged_date=activity.last_login_at or activity.created_at,
        status=SHOWN_STATUS[seen.status],
        last_logged_device=activity.last_login_device,
        last_password_change_date=activity.password_changed_at or activity.created_at,
        recovery_codes=recovery_codes or None,
        secret=enrollment.secret if enrollment else None,
        otpauth_uri=enrollment.uri if enrollment else None,
        qr_code=enrollment.qr_code if enrollment else None,
    )
