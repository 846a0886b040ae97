"""The gateway's public edge from its settings: CORS origins, trusted proxies, TLS files.

Checked once at start: a malformed value or an unsafe production set-up stops the gateway with
a `ConfigError` naming the variable.
"""

import ssl
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from tessera_gateway.client_ip import TrustedProxies, parse_trusted_proxies
from tessera_gateway.cors import CorsPolicy, parse_origins
from tessera_shared.config import ConfigError

if TYPE_CHECKING:
    from tessera_gateway.config import GatewaySettings


class TlsFiles(msgspec.Struct, frozen=True, kw_only=True):
    cert: Path
    key: Path


class Edge(msgspec.Struct, frozen=True, kw_only=True):
    cors: CorsPolicy
    trusted_proxies: TrustedProxies
    tls: TlsFiles | None
    """None: plain HTTP (locally, or behind an ingress that terminates TLS)."""


def edge_of(settings: "GatewaySettings", prefix: str) -> Edge:
    """The edge `settings` describe; `ConfigError` naming `prefix`+VARIABLE when unsound."""
    try:
        origins = parse_origins(settings.cors_origins)
    except ValueError as exc:
        raise ConfigError(f"{prefix}CORS_ORIGINS is invalid: {exc}") from None
    try:
        trusted = parse_trusted_proxies(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"{prefix}TRUSTED_PROXIES is invalid: {exc}") from None
    tls = _tls_files(settings.tls_cert_file, settings.tls_key_file, prefix)
    if settings.environment == "production" and tls is None and not trusted:
        raise ConfigError(
            f"{prefix}TLS_CERT_FILE and {prefix}TLS_KEY_FILE are required in production, "
            f"unless {prefix}TRUSTED_PROXIES names the ingress that terminates TLS"
        )
    return Edge(
        cors=CorsPolicy(origins=origins, max_age_s=settings.cors_max_age_s),
        trusted_proxies=trusted,
        tls=tls,
    )


def _tls_files(cert: str, key: str, prefix: str) -> TlsFiles | None:
    if not cert and not key:
        return None
    if not cert or not key:
        missing = "TLS_CERT_FILE" if not cert else "TLS_KEY_FILE"
        raise ConfigError(f"{prefix}{missing} is required with the other TLS file")
    for variable, path in (("TLS_CERT_FILE", cert), ("TLS_KEY_FILE", key)):
        if not Path(path).is_file():
            raise ConfigError(f"{prefix}{variable} is invalid: no such file")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError):
        raise ConfigError(
            f"{prefix}TLS_CERT_FILE is invalid: it and {prefix}TLS_KEY_FILE do not load as "
            "a PEM certificate chain and its unencrypted private key"
        ) from None
    return TlsFiles(cert=Path(cert), key=Path(key))
