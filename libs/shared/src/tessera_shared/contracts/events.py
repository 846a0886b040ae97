"""Events that cross processes over NATS. Versioned with `v`; new fields get defaults.

Schema evolution: never change a field's type or meaning in place; add a field with a default,
or publish a new tag. Consumers must ignore fields they do not know (msgspec does by default).
"""

import enum
from datetime import datetime
from typing import Annotated, Literal

import msgspec

Channel = Literal["email", "sms"]


class DeliveryKind(enum.StrEnum):
    """What a message to a person is about; picks the template in otp-delivery."""

    REGISTRATION_CODE = "registration_code"
    LOGIN_CODE = "login_code"
    CREDENTIAL_CODE = "credential_code"
    PASSWORD_RESET_CODE = "password_reset_code"
    REGISTRATION_NOTICE = "registration_notice"
    """Someone tried to register with an address that already has an account."""
    ACCOUNT_LOCKED_NOTICE = "account_locked_notice"
    SECURITY_CODE = "security_code"
    """A code confirming a change of sign-in security (MFA off, new recovery codes)."""
    RECOVERY_CODE_USED_NOTICE = "recovery_code_used_notice"
    """A recovery code was just used to sign in."""
    PASSWORD_CHANGED_NOTICE = "password_changed_notice"
    """The password was just changed or reset; every other session was ended."""
    EMAIL_CHANGE_NOTICE = "email_change_notice"
    """Sent to the old address: a change of the account's email to another address began."""
    ACCOUNT_DELETED_NOTICE = "account_deleted_notice"
    """The account was deleted at the person's request; sent to its last address."""
    MFA_RESET_NOTICE = "mfa_reset_notice"
    """An operator removed the account's second factors (a support case)."""


class DeliveryRequested(msgspec.Struct, frozen=True, kw_only=True, tag="delivery.requested"):
    """Identity asks otp-delivery to send one message. Subject: `otp.<channel>.requested`."""

    v: int = 1
    id: str
    """Event id (UUID); also the `Nats-Msg-Id`, so JetStream drops duplicates."""
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    """UTC time the request was made (timezone required)."""
    kind: DeliveryKind
    channel: Channel
    recipient: str
    """E-mail address or E.164 phone number."""
    locale: str
    """Language of the person (en, de, fr, it)."""
    user_id: str
    code: str | None = None
    """The one-time code, for the `*_code` kinds; never logged."""
    expires_in_s: int | None = None


Event = DeliveryRequested
EVENT_DECODER = msgspec.json.Decoder(Event)
EVENT_ENCODER = msgspec.json.Encoder()
