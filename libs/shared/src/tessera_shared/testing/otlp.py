"""A stand-in OpenTelemetry collector: receives OTLP/HTTP traces and keeps the spans in memory.

The parts export to it over the real OTLP exporter (protobuf over HTTP), so a test sees the
spans of several processes in one place and can check that they form one trace.
"""

import threading
import time
from collections.abc import Callable

import msgspec
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tessera_shared.testing.threaded_server import ThreadedServer


class CollectedSpan(msgspec.Struct, frozen=True, kw_only=True):
    service: str
    """`service.name` of the process that made it."""
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    """Empty for a root span."""


class OtlpCollector(ThreadedServer):
    """`POST /v1/traces` (OTLP/HTTP, protobuf); `url` + "/v1/traces" is the exporter endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[CollectedSpan] = []
        self._lock = threading.Lock()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/traces", self._export)

    async def _export(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        received: list[CollectedSpan] = []
        for resource_spans in export.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                received.extend(
                    CollectedSpan(
                        service=attributes.get("service.name", ""),
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                    )
                    for span in scope_spans.spans
                )
        with self._lock:
            self.spans.extend(received)
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")

    def trace(self, trace_id: str) -> list[CollectedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def wait_for(
        self,
        trace_id: str,
        until: Callable[[list[CollectedSpan]], bool],
        services: set[str],
        within: float = 20.0,
    ) -> list[CollectedSpan]:
        """The spans of `trace_id`, once `until(spans)` holds and spans of every one of
        `services` arrived (each process exports in its own batches, in no fixed order, so
        wait for every span the caller looks at); else AssertionError."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            spans = self.trace(trace_id)
            if until(spans) and services <= {s.service for s in spans}:
                return spans
            time.sleep(0.1)
        names = sorted({(s.service, s.name) for s in self.trace(trace_id)})
        raise AssertionError(f"trace {trace_id} incomplete: {names}")
