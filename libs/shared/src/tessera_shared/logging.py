"""JSON logs, one object per line, carrying the request id and the current trace/span ids."""

import atexit
import logging
import queue
import sys
import threading
import time
from typing import Any, TextIO

import msgspec
from opentelemetry import trace

from tessera_shared.context import request_id_var

_encoder = msgspec.json.Encoder()
GATHER_S = 0.01
"""How long the writer pauses after a write, letting the next lines gather into one write."""
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats records as JSON; extra fields given with `extra=` are kept."""

    def __init__(self, service: str = "tessera") -> None:
        super().__init__()
        self.service = service
        self._second = -1
        self._stamp = ""
        """`ts` up to the second, of `_second`: formatted once per second, not per line."""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        entry: dict[str, Any] = {
            "ts": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = f"{span.trace_id:032x}"
            entry["span_id"] = f"{span.span_id:016x}"
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()


class BatchedLineHandler(logging.Handler):
    """Formats each record in the logging thread (the request id and span are bound to it)
    and leaves the writing to a thread of its own, which writes every line waiting in one call.

    Under load that is one write per many requests instead of one per line (the profile of a
    gateway under wrk showed the per-line `write()` at ~18 % of its time), and a slow reader of
    the pipe never blocks the event loop. A line logged while the writer is idle is written at
    once; after each write the writer pauses `GATHER_S`, so a line waits at most that long.
    `close()` (also at exit) writes what is left.
    """

    def __init__(self, stream: TextIO, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self._stream = stream
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_lines, name="log-writer", daemon=True)
        self._writer.start()
        atexit.register(self.close)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.put(self.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        if self._writer.is_alive():
            self._lines.put(None)
            self._writer.join(timeout=5)
        atexit.unregister(self.close)
        super().close()

    def _write_lines(self) -> None:
        done = False
        while not done:
            batch = [self._lines.get()]
            while True:
                try:
                    batch.append(self._lines.get_nowait())
                except queue.Empty:
                    break
            done = None in batch
            text = "".join(line for line in batch if line is not None)
            try:
                self._stream.write(text)
                self._stream.flush()
            except (OSError, ValueError):  # the stream is gone (closed pipe, interpreter exit)
                return
            # The lines of the next moment gather meanwhile and go out in one write. Without
            # the pause the writer was idle again before the next line, so every line woke it
            # on its own: a futex wake and a GIL hand-over per request, a third of a proxied
            # request's time in the gateway's profile.
            if not done:
                time.sleep(GATHER_S)


def configure_logging(service: str, level: str = "info") -> None:
    """Route every logger (ours, litestar's, granian's) to stderr as JSON."""
    # What a record would gather and the JSON line never shows: the caller's file and line
    # (a stack walk per record), thread and process (the logging HOWTO's "Optimization").
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BatchedLineHandler(sys.stderr, JsonFormatter(service))
    root = logging.getLogger()
    for previous in root.handlers:
        if isinstance(previous, BatchedLineHandler):
            previous.close()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("granian", "granian.access", "_granian"):
        named = logging.getLogger(noisy)
        named.handlers[:] = []
        named.propagate = True


def granian_log_config(service: str, level: str) -> dict[str, Any]:
    """dictConfig for granian's own loggers so its lines are JSON too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "tessera_shared.logging.JsonFormatter", "service": service}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "_granian": {"level": level.upper()},
            "granian.access": {"level": level.upper()},
        },
    }
