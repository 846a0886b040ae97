"""Gateway settings, from `TESSERA_GATEWAY_*` environment variables."""

from typing import Annotated

import msgspec

from tessera_shared.config import load_config
from tessera_shared.contracts.tokens import Prefix
from tessera_shared.settings import Port, ServiceSettings

PREFIX = "TESSERA_GATEWAY_"


class GatewaySettings(ServiceSettings, kw_only=True, frozen=True):
    port: Port = 8080
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for rate limits and revoked sessions."""
    identity_url: str = "http://127.0.0.1:8001"
    session_url: str = "http://127.0.0.1:8002"
    upstream_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    """Longest wait for an upstream answer before 504."""
    upstream_connections: Annotated[int, msgspec.Meta(ge=1)] = 200
    """Pooled keep-alive connections per upstream."""
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    api_key_prefix: str = "tessera:apikey:"
    """Prefix of the Redis keys holding client applications' API keys, to share a Redis."""
    session_jwks_url: str = "http://127.0.0.1:8002/.well-known/jwks.json"
    """The session service's public signing keys, to verify access tokens."""
    token_issuer: str = "tessera"
    """`iss` of access tokens: the session service's issuer."""
    token_audience: str = "tessera"
    """`aud` of access tokens: the session service's audience."""
    session_key_prefix: Prefix = "tessera:"
    """The session service's redis_key_prefix: where a session's refresh family lives."""


def load_settings() -> GatewaySettings:
    return load_config(GatewaySettings, PREFIX)
