"""Which user an operator means by USER: a user id as given, or the one exact email or phone.

The API's `query` matches the start of emails and phones, so `ann@example.co` also finds
`ann@example.com`; only an exact (case-insensitive) match names a user, never a prefix.
"""

import re
import uuid
from collections.abc import Sequence

from tessera_identity.admin_cli.contract import UserSummary
from tessera_identity.admin_cli.errors import CliError
from tessera_identity.admin_cli.text import cell
from tessera_identity.admin_cli.views import users_table

# As identity reads a phone in a search (`domain/admin.py`): spaces, dashes, parentheses ignored.
_PHONE_AS_TYPED = re.compile(r"\+?[0-9][0-9 ()-]*")


def user_id(text: str) -> str | None:
    """The canonical id when `text` is a UUID (any case, with or without braces), else None."""
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return None


def contact_query(text: str) -> str:
    """What to search for: a phone typed `+41 79 123-45-67` (or without +) is `+41791234567`."""
    text = text.strip()
    if _PHONE_AS_TYPED.fullmatch(text):
        return "+" + re.sub(r"[^0-9]", "", text)
    return text


def _same(contact: str, value: str | None) -> bool:
    return value is not None and contact_query(value).casefold() == contact.casefold()


def exact_matches(contact: str, found: Sequence[UserSummary]) -> list[UserSummary]:
    """The users whose email or phone is `contact`, ignoring case; prefix matches drop out."""
    return [u for u in found if _same(contact, u.get("email")) or _same(contact, u.get("phone"))]


def choose(contact: str, found: Sequence[UserSummary]) -> UserSummary:
    """The one user with this email or phone; none or several is the operator's to sort out."""
    matches = exact_matches(contact, found)
    if len(matches) == 1:
        return matches[0]
    shown = cell(contact)
    if matches:
        raise CliError(
            f"{len(matches)} users have the email or phone {shown}; name one by its id:",
            details=users_table(matches),
        )
    hint = f" ({len(found)} start with it: tessera-admin users find {shown})" if found else ""
    raise CliError(f"no user with the email or phone {shown}{hint}")
