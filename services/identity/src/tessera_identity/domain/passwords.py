"""The password policy, after NIST SP 800-63B (5.1.1.2): length and a blocklist, nothing else.

800-63B forbids composition rules ("one digit, one symbol") because they push people to
predictable patterns; what helps is a minimum length and refusing passwords known from leaks.
"""

import unicodedata
from importlib import resources
from pathlib import Path

import msgspec

from tessera_shared.errors import Code, TesseraError

_SHIPPED_LIST = resources.files("tessera_identity") / "data" / "common-passwords.txt"


class PasswordPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What a new password must satisfy; built once by the composition root."""

    min_length: int = 8
    """Fewest Unicode code points after NFKC normalization (800-63B: at least 8)."""
    max_length: int = 128
    """Most code points; 800-63B asks to allow at least 64. Bounds the work of hashing."""
    common: frozenset[str]
    """Lower-cased, NFKC-normalized passwords that are refused (see `load_common_passwords`).
    Required, so that forgetting the list cannot silently switch the check off."""

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("need 1 <= min_length <= max_length")


def normalize_password(password: str) -> str:
    """NFKC form, as 800-63B asks: what is checked and hashed, so any input method matches."""
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, policy: PasswordPolicy) -> None:
    """Raise `TesseraError` with the first rule the password breaks; return if it is acceptable.

    Codes: `password_too_short` (param `min`), `password_too_long` (param `max`),
    `password_blank`, `password_too_common`.
    """
    normalized = normalize_password(password)
    if len(normalized) < policy.min_length:
        raise TesseraError(Code.PASSWORD_TOO_SHORT, params={"min": policy.min_length})
    if len(normalized) > policy.max_length:
        raise TesseraError(Code.PASSWORD_TOO_LONG, params={"max": policy.max_length})
    if not normalized.strip():
        raise TesseraError(Code.PASSWORD_BLANK)
    if password.lower() in policy.common or normalized.lower() in policy.common:
        raise TesseraError(Code.PASSWORD_TOO_COMMON)


def load_common_passwords(path: Path | None = None) -> frozenset[str]:
    """The blocklist from a text file: one password per line, `#` comments and blank lines skipped.

    Entries are NFKC-normalized and lower-cased like the passwords they are compared with.
    Without `path`, the shipped top-10,000 list. Reads the file on every call: the composition
    root calls it once and hands the set to the policy.
    """
    text = (path if path is not None else _SHIPPED_LIST).read_text(encoding="utf-8")
    entries = (line.strip() for line in text.splitlines())
    return frozenset(
        normalize_password(entry).lower()
        for entry in entries
        if entry and not entry.startswith("#")
    )
