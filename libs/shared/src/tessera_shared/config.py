"""Typed settings from environment variables, one prefix per part.

A part declares a flat msgspec struct; each field `foo_bar` is read from `<PREFIX>FOO_BAR`.
Values arrive as strings and are converted by msgspec (`"8001"` -> 8001, `"true"` -> True).
A missing or malformed value raises `ConfigError` whose text is one line naming the variable
and never echoing the value (it may be a secret).
"""

import os
import re
from collections.abc import Mapping
from typing import TypeVar

import msgspec

_FIELD_IN_PATH = re.compile(r"at `\$\.(\w+)")
_MISSING_FIELD = re.compile(r"missing required field `(\w+)`")
_QUOTED = re.compile(r"\s*'[^']*'")

T = TypeVar("T", bound=msgspec.Struct)


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the environment variable."""


def load_config(struct: type[T], prefix: str, environ: Mapping[str, str] | None = None) -> T:
    """Build `struct` from the variables starting with `prefix` (e.g. `TESSERA_IDENTITY_`)."""
    env = os.environ if environ is None else environ
    known = {f.name for f in msgspec.structs.fields(struct)}
    raw: dict[str, str] = {}
    for key, value in env.items():
        if key.startswith(prefix):
            name = key[len(prefix) :].lower()
            if name in known:
                raw[name] = value
    try:
        return msgspec.convert(raw, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), prefix)) from None


def _explain(error: str, prefix: str) -> str:
    missing = _MISSING_FIELD.search(error)
    if missing:
        return f"{prefix}{missing.group(1).upper()} is required but not set"
    field = _FIELD_IN_PATH.search(error)
    # msgspec quotes offending values ("Invalid enum value 'x'"): drop them, they may be secret.
    reason = _QUOTED.sub("", error.split(" - at ")[0])
    if field:
        return f"{prefix}{field.group(1).upper()} is invalid: {reason}"
    return f"invalid configuration under {prefix}*: {reason}"


def require_secrets(
    settings: msgspec.Struct, prefix: str, dev_values: Mapping[str, str], min_length: int = 32
) -> None:
    """In production, refuse a secret left at its development value or shorter than `min_length`."""
    if getattr(settings, "environment", "") != "production":
        return
    for name, dev_value in dev_values.items():
        value = getattr(settings, name)
        if value == dev_value or len(value) < min_length:
            raise ConfigError(
                f"{prefix}{name.upper()} must be set to a secret of at least {min_length} "
                "characters in production"
            )
