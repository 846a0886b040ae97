"""Session settings, from `TESSERA_SESSION_*` environment variables."""

from typing import Annotated, Literal

import msgspec

from tessera_shared.config import ConfigError, load_config, require_secrets
from tessera_shared.nats import check_servers_setting
from tessera_shared.redis import DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT_S
from tessera_shared.settings import Port, ServiceSettings

PREFIX = "TESSERA_SESSION_"
DEV_INTERNAL_TOKEN = "dev-only-internal-token-change-me"
DEV_REFRESH_KEY = "dev-only-refresh-key-change-me"

Seconds = Annotated[int, msgspec.Meta(ge=1)]


class SessionSettings(ServiceSettings, kw_only=True, frozen=True):
    port: Port = 8002
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis holding refresh families (persistence on in production)."""
    redis_pool_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = DEFAULT_POOL_SIZE
    """Redis connections per worker process; more commands in flight wait for a free one."""
    redis_pool_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = DEFAULT_POOL_TIMEOUT_S
    """Longest wait for a free Redis connection before the request is answered 503."""
    redis_key_prefix: str = "tessera:"
    """Prefix of every key this service writes; the gateway's session_key_prefix must match."""
    identity_url: str = "http://127.0.0.1:8001"
    """Identity service, for password and code checks (internal API)."""
    identity_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    internal_token: str = DEV_INTERNAL_TOKEN
    """Sent to identity as X-Internal-Token; equal to identity's internal_token."""
    nats_url: str = "nats://127.0.0.1:4222"
    """For `session.reuse_detected` events."""
    stream_name: str = "TESSERA_SESSION"
    """JetStream stream of session events (`<prefix>session.>`)."""
    subject_prefix: str = ""
    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    """JetStream replicas of the session stream (3 on a 3-node cluster)."""
    issuer: str = "tessera"
    audience: str = "tessera"
    signing_keys_dir: str = ".data/keys"
    """Folder of Ed25519 private keys (PEM, one per file, name = key id). The newest signs;
    all are published in the JWKS. Empty in development: a key is generated there once."""
    signing_key_delay_s: Annotated[int, msgspec.Meta(ge=0)] = 60
    """A key put in the folder signs only this long after it was made (its id's time): every
    instance publishes it first, so verifiers know it before the first token it signs."""
    signing_keys_reload_s: Annotated[int, msgspec.Meta(ge=0)] = 10
    """How often each instance re-reads the folder (0: only at start): a rotated key is published
    and later signs, and a deleted one leaves the JWKS, without a restart."""
    signing_key_pem: str = ""
    """Alternatively one Ed25519 private key in PEM (e.g. from a secret); used instead of the
    folder when set."""
    access_ttl_s: Seconds = 900
    """Access token lifetime; `expires_in` answers one second less (899), like the guide."""
    refresh_ttl_s: Seconds = 14 * 24 * 3600
    """Sliding refresh lifetime: each refresh extends the family by this much."""
    refresh_absolute_ttl_s: Seconds = 90 * 24 * 3600
    """No family lives longer than this, however often it is refreshed."""
    refresh_grace_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 10.0
    """Grace window: a token rotated away still refreshes this long after its own rotation, if
    it is one of the last two rotated away; it gets the current token (concurrent tabs)."""
    refresh_key: str = DEV_REFRESH_KEY
    """Secret from which successor refresh tokens are derived."""
    max_sessions_per_user: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50
    """Sessions (refresh families) one user may hold; a sign-in beyond it ends the least
    recently used ones, so sign-ins without X-Device-ID cannot grow Redis without bound."""
    challenge_ttl_s: Seconds = 300
    """Lifetime of an MFA challenge: its token and its state in Redis."""
    require_totp: bool = False
    """Policy: every sign-in needs a second factor; users without one must set up TOTP first."""
    cookie_secure: bool = True
    """Only a local run over plain HTTP turns this off (refused in production)."""
    cookie_samesite: Literal["strict", "lax", "none"] = "strict"
    cookie_name: str = "tessera_rt"
    """Base name; the app id is appended, so each X-App-ID has its own cookie."""
    default_app_id: str = "default"
    """App id of requests without X-App-ID."""


def load_settings() -> SessionSettings:
    settings = load_config(SessionSettings, PREFIX)
    check_servers_setting(settings.nats_url, f"{PREFIX}NATS_URL")
    require_secrets(
        settings, PREFIX, {"internal_token": DEV_INTERNAL_TOKEN, "refresh_key": DEV_REFRESH_KEY}
    )
    if settings.environment == "production" and not settings.cookie_secure:
        raise ConfigError(f"{PREFIX}COOKIE_SECURE cannot be off in production")
    return settings
