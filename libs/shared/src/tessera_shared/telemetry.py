"""OpenTelemetry tracing, off unless configured (`none` | `console` | `otlp`)."""

from typing import Literal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

Exporter = Literal["none", "console", "otlp"]


def setup_tracing(service: str, exporter: Exporter, otlp_endpoint: str = "") -> bool:
    """Install a tracer provider for `service`; returns whether tracing is on."""
    if exporter == "none":
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(exporter, otlp_endpoint)))
    trace.set_tracer_provider(provider)
    return True


def _exporter(kind: Exporter, endpoint: str) -> SpanExporter:
    if kind == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint or None)


def tracer(name: str) -> trace.Tracer:
    """The tracer of one module; spans are no-ops while tracing is off."""
    return trace.get_tracer(name)


def context_of(headers: dict[str, str]) -> Context:
    """The trace context a message carried (W3C `traceparent`), to continue its trace."""
    from opentelemetry.propagate import extract

    return extract(headers)


def trace_headers() -> dict[str, str]:
    """W3C trace context of the current span, for messages that leave the process."""
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier
