"""Plain-text layout for a terminal: aligned tables and label/value blocks, no colors.

Values come from users (names, user agents), so each cell is made one printable line first:
a name must not be able to move the operator's cursor, clear the screen or break a row.
"""

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

GAP = "  "
ELLIPSIS = "…"
NOTHING = "-"
_DOUBLE = frozenset({"W", "F"})  # East Asian wide and fullwidth: two terminal columns


def cell(value: object) -> str:
    """One printable line for any JSON value; control and format characters are escaped."""
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def width(text: str) -> int:
    """Columns `text` takes in a terminal: CJK takes two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in _DOUBLE else 1
        for c in text
    )


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` columns, the cut marked with an ellipsis."""
    if width(text) <= limit:
        return text
    kept, used = [], 0
    for c in text:
        used += width(c)
        if used > limit - 1:
            break
        kept.append(c)
    return "".join(kept) + ELLIPSIS


def pad(text: str, columns: int) -> str:
    """`text` filled with spaces to `columns` terminal columns."""
    return text + " " * (columns - width(text))


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    widest: Mapping[str, int] | None = None,
    narrowest: Mapping[str, int] | None = None,
    header: bool = True,
) -> str:
    """Columns as wide as their widest cell (capped by `widest`, at least `narrowest`)."""
    caps, floors = widest or {}, narrowest or {}
    lines = [[cell(value) for value in row] for row in rows]
    for i, title in enumerate(headers):
        if title in caps:
            for line in lines:
                line[i] = shorten(line[i], caps[title])
    shown = [list(headers), *lines] if header else lines
    columns = [
        max([floors.get(title, 0), width(title), *(width(line[i]) for line in lines)])
        for i, title in enumerate(headers)
    ]
    return "\n".join(
        GAP.join(pad(text, columns[i]) for i, text in enumerate(line)).rstrip() for line in shown
    )


def fields(pairs: Sequence[tuple[str, object]], *, column: int = 0, indent: str = GAP) -> str:
    """Label/value lines with the values in one column (at least `column` past the indent)."""
    column = max([column, *(width(label) for label, _ in pairs)])
    return "\n".join(f"{indent}{pad(label, column)}{GAP}{cell(value)}" for label, value in pairs)


def indented(text: str, indent: str = GAP) -> str:
    """Every line of `text` moved right, so a table sits under its section heading."""
    return "\n".join(indent + line for line in text.splitlines())


def when(iso: str | None) -> str:
    """An API timestamp in UTC to the second (`2026-12-07T14:05:29Z`), as the logs write it."""
    if iso is None:
        return NOTHING
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return cell(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_moment(text: str) -> str:
    """An ISO 8601 time as typed (`2026-12-07`, `...T14:00+01:00`; no offset: UTC) in the
    RFC 3339 form the API decodes (`2026-12-07T13:00:00Z`). ValueError for anything else."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
