"""JSON log lines: formatted where the record is made, written in batches by one thread."""

import io
import json
import logging
import sys
import threading

from tessera_shared.context import request_id_var
from tessera_shared.logging import BatchedLineHandler, JsonFormatter


class SlowStream(io.StringIO):
    """A pipe whose reader is busy: each write waits until the test lets it through."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.gate = threading.Event()

    def write(self, text: str) -> int:
        self.gate.wait(5)
        self.writes += 1
        return super().write(text)


def test_lines_keep_their_order_and_the_request_id_of_where_they_were_logged():
    stream = SlowStream()
    handler = BatchedLineHandler(stream, JsonFormatter("svc"))
    logger = logging.getLogger("test.batched")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        token = request_id_var.set("req-1")
        for n in range(200):
            logger.warning("line %s", n)
        request_id_var.reset(token)
        stream.gate.set()
    finally:
        handler.close()  # writes what is left
        logger.removeHandler(handler)

    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["msg"] for e in entries] == [f"line {n}" for n in range(200)]
    assert {e["request_id"] for e in entries} == {"req-1"}
    assert {e["service"] for e in entries} == {"svc"}
    assert stream.writes < 200 / 10  # lines that piled up went out together


def test_a_record_with_an_exception_keeps_its_traceback_field():
    stream = io.StringIO()
    handler = BatchedLineHandler(stream, JsonFormatter("svc"))
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    handler.handle(record)
    handler.close()

    entry = json.loads(stream.getvalue())
    assert entry["msg"] == "failed"
    assert "ValueError: boom" in entry["exc"]
