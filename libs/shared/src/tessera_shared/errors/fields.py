"""Turns validation messages (msgspec, litestar parameters) into stable field codes. Pure."""

import re

import msgspec

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"missing required field `(?P<field>[^`]+)`"), "missing_field"),
    (re.compile(r"^Missing required .*parameter"), "missing_field"),
    (re.compile(r"contains unknown field `(?P<field>[^`]+)`"), "unknown_field"),
    (re.compile(r"^Expected `\w+` of length >= (?P<limit>\d+)"), "too_short"),
    (re.compile(r"^Expected `\w+` of length <= (?P<limit>\d+)"), "too_long"),
    (re.compile(r"^Expected `\w+` [<>]=? ?-?[\d.]+"), "out_of_range"),
    (re.compile(r"^Expected `str` matching regex"), "invalid_format"),
    (re.compile(r"^Invalid enum value"), "invalid_value"),
    (re.compile(r"^Expected `(?P<expected>[^`]+)`, got `[^`]+`"), "wrong_type"),
)


class ParsedFieldError(msgspec.Struct, frozen=True):
    field: str
    code: str
    params: dict[str, str]


def parse_field_error(message: str, path: str) -> ParsedFieldError:
    """Classify one validation message; `path` is msgspec's `$.data.a.b` or a parameter name."""
    field = _strip_root(path)
    for pattern, code in _RULES:
        match = pattern.search(message)
        if match:
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            nested = groups.pop("field", None)
            if nested:
                field = f"{field}.{nested}" if field else nested
            return ParsedFieldError(field=field, code=code, params=groups)
    return ParsedFieldError(field=field, code="invalid_value", params={})


def _strip_root(path: str) -> str:
    for root in ("$.data.", "$.data", "$."):
        if path.startswith(root):
            return path[len(root) :]
    return "" if path in ("$", "data") else path


def split_msgspec_error(error: str) -> tuple[str, str]:
    """`"Expected `str`, got `int` - at `$.data.name`"` -> (message, path)."""
    message, sep, where = error.rpartition(" - at `")
    if not sep:
        return error, "$"
    return message, where.rstrip("`")
