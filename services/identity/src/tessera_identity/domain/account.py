"""The account's own settings and who may reset a password. Pure.

A password reset goes to the address the person typed, and only when that address signs in to
an active account: verified, or the not yet verified email an /auth registration signs in with.
"""

from tessera_identity.domain.registration import AccountStatus
from tessera_shared.errors import Code, FieldError, TesseraError
from tessera_shared.i18n import SUPPORTED_LOCALES

NAME_MAX_LENGTH = 100


def may_reset_password(status: AccountStatus, *, verified: bool, signs_in_unverified: bool) -> bool:
    """Whether a reset code may go to this credential of an account in `status`."""
    return status == AccountStatus.ACTIVE and (verified or signs_in_unverified)


def clean_name(raw: str | None) -> str | None:
    """The display name as stored: surrounding spaces trimmed, 1 to 100 printable characters;
    None clears it. Refusals are `validation_failed` naming the field."""
    if raw is None:
        return None
    name = raw.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH or not name.isprintable():
        raise _invalid("name")
    return name


def check_locale(locale: str) -> str:
    """One of the supported languages (en, de, fr, it), else `validation_failed`."""
    if locale not in SUPPORTED_LOCALES:
        raise _invalid("locale")
    return locale


def _invalid(field: str) -> TesseraError:
    # `invalid_value` has no placeholder to fill: the edges report length limits themselves.
    return TesseraError(
        Code.VALIDATION_FAILED, details=[FieldError(field=field, code="invalid_value", message="")]
    )
