"""Email and phone credentials: the one normalized form each is stored and looked up by.

Registration and sign-in both go through `normalize`, so the same address always maps to the
same row; invalid input raises `TesseraError(Code.INVALID_EMAIL | Code.INVALID_PHONE)`.
"""

import enum

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from tessera_shared.errors import Code, TesseraError

# RFC 3696 once gave 320 (64 + "@" + 255) as the longest address; the library enforces the
# stricter 254 of RFC 5321. The cheap bound keeps huge input away from the parser.
MAX_EMAIL_INPUT = 320
# E.164 has at most 15 digits; 32 leaves room for spaces, dashes and brackets as people type them.
MAX_PHONE_INPUT = 32


class CredentialType(enum.StrEnum):
    """How a user is reached and signs in."""

    EMAIL = "email"
    PHONE = "phone"


def normalize_email(raw: str) -> str:
    """The address as stored: syntax-checked (no DNS lookup), IDN domain decoded, lower-cased.

    The whole address is lower-cased, not only the domain: local parts are case-insensitive in
    practice at every major provider, and treating them so prevents two accounts for
    `John@x.com` and `john@x.com`. Surrounding whitespace (a pasted address) is ignored.
    """
    if len(raw) > MAX_EMAIL_INPUT:
        raise TesseraError(Code.INVALID_EMAIL)
    try:
        validated = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise TesseraError(Code.INVALID_EMAIL) from None
    return validated.normalized.lower()


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """The number in E.164 (`+41791234567`).

    Without a leading `+` the number is read as national in `default_region` (ISO 3166 code,
    e.g. "CH"); with no region such a number is invalid, since its country cannot be known.
    Numbers with an extension are refused: a one-time code cannot be sent to one.
    """
    if len(raw) > MAX_PHONE_INPUT:
        raise TesseraError(Code.INVALID_PHONE)
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise TesseraError(Code.INVALID_PHONE) from None
    if number.extension or not phonenumbers.is_valid_number(number):
        raise TesseraError(Code.INVALID_PHONE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize(kind: CredentialType, raw: str) -> str:
    """The stored form of a credential of the given kind (phones must carry their `+` prefix)."""
    if kind is CredentialType.EMAIL:
        return normalize_email(raw)
    return normalize_phone(raw)


def guess_type(username: str) -> CredentialType:
    """Which kind a sign-in username is: phone numbers never contain "@", addresses always do."""
    return CredentialType.EMAIL if "@" in username else CredentialType.PHONE


def parse_username(raw: str) -> tuple[CredentialType | None, str]:
    """A sign-in username as (credential type, normalized value); (None, cleaned text) when it
    is neither an address nor a number, so it can still be counted by the lockout."""
    kind = guess_type(raw)
    try:
        return kind, normalize(kind, raw)
    except TesseraError:
        return None, raw.strip().lower()[:320]


def obfuscate_email(email: str) -> str:
    """`john@example.com` -> `j***n@example.com`: recognizable by its owner, useless to others.

    The mask has a fixed width so it does not reveal the local part's length.
    """
    local, _, domain = email.rpartition("@")
    masked = f"{local[0]}***{local[-1]}" if len(local) > 2 else f"{local[:1]}***"
    return f"{masked}@{domain}"


def obfuscate_phone(e164: str) -> str:
    """`+41791234567` -> `+41*******67`: the country code and the last two digits stay visible.

    Expects the stored E.164 form; anything else is a programming error (ValueError).
    """
    try:
        country_code = phonenumbers.parse(e164, None).country_code
    except phonenumbers.NumberParseException:
        raise ValueError("not an E.164 number") from None
    prefix = f"+{country_code}"
    if not e164.startswith(prefix) or not e164[1:].isdigit():
        raise ValueError("not an E.164 number")
    rest = e164[len(prefix) :]
    visible = rest[-2:] if len(rest) > 2 else ""
    return f"{prefix}{'*' * (len(rest) - len(visible))}{visible}"
