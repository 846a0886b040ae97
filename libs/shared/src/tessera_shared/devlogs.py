"""The parts' JSON log lines as a person reads them: `time level message key=value…`.

The parts always log JSON (`logging.py`); the dev runner renders the lines it relays to a
terminal, so a part's own output stays one format for machines.
"""

from typing import Any

import msgspec

_SHOWN = frozenset({"ts", "level", "service", "logger", "msg", "exc"})
_decoder = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


def _value(value: Any) -> str:
    if isinstance(value, str) and value and not any(c.isspace() or c in '"=' for c in value):
        return value
    return _encoder.encode(value).decode()


def pretty(line: str) -> str:
    """One JSON log line as `HH:MM:SS.mmm LEVEL message key=value…` (and its traceback below);
    any other line as it came. Without the trailing newline."""
    text = line.rstrip("\n")
    if not text.startswith("{"):
        return text
    try:
        entry = _decoder.decode(text)
    except msgspec.DecodeError:
        return text
    stamp = str(entry.get("ts", ""))
    clock = stamp[11:23] if len(stamp) >= 23 else stamp
    level = str(entry.get("level", "")).upper()
    extras = " ".join(f"{k}={_value(v)}" for k, v in entry.items() if k not in _SHOWN)
    out = " ".join(
        part for part in (clock, f"{level:<7}", str(entry.get("msg", "")), extras) if part
    )
    exc = entry.get("exc")
    if exc:
        out += "\n" + str(exc).rstrip("\n")
    return out
