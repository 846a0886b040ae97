"""Settings every HTTP part has; each part's config struct extends this one."""

from typing import Annotated, Literal

import msgspec

from tessera_shared.telemetry import Exporter

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class ServiceSettings(msgspec.Struct, kw_only=True, frozen=True):
    host: str = "127.0.0.1"
    """Address to listen on; containers set 0.0.0.0."""
    port: Port
    """TCP port to listen on."""
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    """Server worker processes."""
    environment: Literal["development", "production"] = "development"
    """`production` refuses development-only settings."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    otel_exporter: Exporter = "none"
    """Trace exporter: `none` (default), `console` or `otlp`."""
    otel_endpoint: str = ""
    """OTLP/HTTP endpoint, e.g. http://collector:4318/v1/traces (with `otlp`)."""
