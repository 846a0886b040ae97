"""The parts' JSON log lines as the dev runner shows them on a terminal."""

import json
import logging
import sys

from tessera_shared.devlogs import pretty
from tessera_shared.logging import JsonFormatter


def test_a_json_line_reads_as_time_level_message_and_its_extras() -> None:
    line = json.dumps(
        {
            "ts": "2026-12-07T04:10:02.123Z",
            "level": "info",
            "service": "tessera-identity",
            "logger": "tessera_identity.flows",
            "msg": "code sent",
            "channel": "email",
            "to": "jane doe@example.com",
            "attempt": 2,
        }
    )
    assert pretty(line + "\n") == (
        '04:10:02.123 INFO    code sent channel=email to="jane doe@example.com" attempt=2'
    )


def test_a_record_from_the_parts_formatter_keeps_its_traceback_on_the_lines_below() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "tessera", logging.ERROR, "", 0, "failed %s", ("once",), sys.exc_info()
        )
    text = pretty(JsonFormatter("tessera-session").format(record))
    first, *rest = text.split("\n")
    assert first.endswith("ERROR   failed once")
    assert rest[-1] == "ValueError: boom"


def test_any_other_line_comes_as_it_was() -> None:
    assert pretty("[INFO] Starting granian\n") == "[INFO] Starting granian"
    assert pretty("{not json\n") == "{not json"
