"""Gateway settings, from `TESSERA_GATEWAY_*` environment variables."""

from functools import cached_property
from typing import Annotated

import msgspec

from tessera_gateway.client_ip import parse_trusted_proxies
from tessera_gateway.cors import CorsPolicy, parse_origins
from tessera_gateway.edge import Edge, public_url, tls_files
from tessera_gateway.rate_limits import GROUP_LIST_PATTERN
from tessera_shared.config import ConfigError, load_config, require_secrets
from tessera_shared.contracts.tokens import Prefix
from tessera_shared.redis import DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT_S
from tessera_shared.settings import Port, ServiceSettings

PREFIX = "TESSERA_GATEWAY_"
DEV_INTERNAL_TOKEN = "dev-only-internal-token-change-me"
"""As identity's and session's: the parts agree out of the box on a laptop; production refuses
it."""


class GatewaySettings(ServiceSettings, kw_only=True, frozen=True, dict=True):
    port: Port = 8080
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for rate limits and revoked sessions."""
    redis_pool_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = DEFAULT_POOL_SIZE
    """Redis connections per worker process; more commands in flight wait for a free one."""
    redis_pool_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = DEFAULT_POOL_TIMEOUT_S
    """Longest wait for a free Redis connection before the request is answered 503."""
    identity_url: str = "http://127.0.0.1:8001"
    session_url: str = "http://127.0.0.1:8002"
    upstream_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    """Longest wait for an upstream answer before 504."""
    upstream_connections: Annotated[int, msgspec.Meta(ge=1)] = 200
    """Pooled keep-alive connections per upstream."""
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    body_read_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    """Longest wait for a request body to arrive in full, from its first byte read, before 408."""
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
    rate_limits_enabled: bool = True
    """Rate limits per client IP, account, device and API key (`rate_limits.py`), in Redis."""
    rate_limit_prefix: str = "tessera:rl:"
    """Prefix of the rate-limit keys in Redis; gateways sharing it share the limits."""
    rate_limit_auth_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 5
    """Sign-in routes, per client IP (also the burst: the 6th quick attempt waits)."""
    rate_limit_registration_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 10
    """Registration routes, per client IP."""
    rate_limit_default_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 300
    """Every other routed path, per client IP."""
    rate_limit_account_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 10
    """Sign-in routes, per account named in the body, whatever the IP (also the burst)."""
    rate_limit_device_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 10
    """Sign-in routes, per X-Device-ID, whatever the IP and account (also the burst)."""
    rate_limit_api_key_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 100
    """Registration routes, per client application's API key (also the burst)."""
    rate_limit_introspection_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 600
    """`POST /oauth2/introspect`, per client IP (also the burst)."""
    rate_limit_introspection_api_key_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 600
    """`POST /oauth2/introspect`, per resource server's API key, whatever the IP (also the
    burst)."""
    rate_limit_fail_open_groups: Annotated[str, msgspec.Meta(pattern=GROUP_LIST_PATTERN)] = (
        "default"
    )
    """Route groups (`auth`, `registration`, `introspection`, `default`) let through while Redis
    is down."""
    cors_origins: str = ""
    """Comma-separated browser origins allowed to call the API (`https://app.example.com`);
    exact matches, `*` refused (credentials are allowed). Empty: no cross-origin browser calls."""
    cors_max_age_s: Annotated[int, msgspec.Meta(ge=0, le=86400)] = 600
    """How long browsers may reuse a CORS preflight answer."""
    trusted_proxies: str = ""
    """Comma-separated IPs or CIDRs of proxies whose X-Forwarded-For/-Proto are believed."""
    tls_cert_file: str = ""
    """PEM certificate chain; with `tls_key_file` the gateway serves HTTPS itself."""
    tls_key_file: str = ""
    """PEM private key (unencrypted) of `tls_cert_file`."""
    public_url: str = ""
    """The gateway's public base URL (`https://auth.example.com`, no trailing slash), for the
    absolute URLs of `/.well-known/oauth-authorization-server`; empty: from each request's
    scheme (X-Forwarded-Proto of a trusted proxy) and Host."""
    metrics_token: str = ""
    """Bearer token Prometheus sends to read `GET /metrics`; empty: no /metrics (404)."""
    admin_enabled: bool = True
    """Whether `/admin/` (identity's admin API, admin keys only) is routed; false: 404, and the
    admin paths are left out of `/openapi.json`."""
    internal_token: str = DEV_INTERNAL_TOKEN
    """The X-Internal-Token of identity and session, sent with admin requests to vouch for the
    admin key's id and scopes the gateway forwards."""

    @cached_property
    def edge(self) -> Edge:
        """CORS, trusted proxies, TLS and the public URL from the fields above, checked on first
        use and kept.

        Raises `ConfigError` naming the variable when they are unsound.
        """
        try:
            origins = parse_origins(self.cors_origins)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}CORS_ORIGINS is invalid: {exc}") from None
        try:
            trusted = parse_trusted_proxies(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}TRUSTED_PROXIES is invalid: {exc}") from None
        tls = tls_files(self.tls_cert_file, self.tls_key_file, PREFIX)
        if self.environment == "production" and tls is None and not trusted:
            raise ConfigError(
                f"{PREFIX}TLS_CERT_FILE and {PREFIX}TLS_KEY_FILE are required in production, "
                f"unless {PREFIX}TRUSTED_PROXIES names the ingress that terminates TLS"
            )
        cors = CorsPolicy(origins=origins, max_age_s=self.cors_max_age_s)
        base = public_url(self.public_url, PREFIX, production=self.environment == "production")
        return Edge(cors=cors, trusted_proxies=trusted, tls=tls, public_url=base)


def load_settings() -> GatewaySettings:
    settings = load_config(GatewaySettings, PREFIX)
    _ = settings.edge  # CORS, proxies and TLS are checked at start, not at a request
    if settings.metrics_token:  # reachable from the internet: it must not be guessable
        require_secrets(settings, PREFIX, {"metrics_token": ""})
    if settings.admin_enabled:  # only admin requests carry it
        require_secrets(settings, PREFIX, {"internal_token": DEV_INTERNAL_TOKEN})
    return settings
