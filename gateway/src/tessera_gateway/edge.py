"""The gateway's public edge: CORS origins, trusted proxies, TLS files, its public URL.

Made from the settings once at start (`GatewaySettings.edge`): a malformed value or an unsafe
production set-up stops the gateway with a `ConfigError` naming the variable.
"""

import ssl
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from tessera_gateway.client_ip import TrustedProxies
from tessera_gateway.cors import CorsPolicy
from tessera_shared.config import ConfigError


class TlsFiles(msgspec.Struct, frozen=True, kw_only=True):
    cert: Path
    key: Path


class Edge(msgspec.Struct, frozen=True, kw_only=True):
    cors: CorsPolicy
    trusted_proxies: TrustedProxies
    tls: TlsFiles | None
    """None: plain HTTP (locally, or behind an ingress that terminates TLS)."""
    public_url: str | None = None
    """The public base URL without a trailing slash; None: taken from each request."""


def public_url(text: str, prefix: str, *, production: bool) -> str | None:
    """`text` as a base URL (scheme, host, optional port and path; no trailing slash), None when
    empty; raises `ConfigError` naming `{prefix}PUBLIC_URL` for anything else."""
    text = text.strip()
    if not text:
        return None
    problem = None
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises for a port that is no number
    except ValueError:
        problem = "not a URL"
    else:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problem = "it needs http:// or https:// and a host"
        elif parts.username is not None or parts.query or parts.fragment or "?" in text:
            problem = "no user, query or fragment allowed"
        elif production and parts.scheme != "https":
            problem = "it must be https:// in production"
    if problem is not None:
        raise ConfigError(f"{prefix}PUBLIC_URL is invalid: {problem}")
    return text.rstrip("/")


def tls_files(cert: str, key: str, prefix: str) -> TlsFiles | None:
    """The PEM files, checked to load as a chain and its key; None (plain HTTP) without both."""
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
