"""Identity settings, from `TESSERA_IDENTITY_*` environment variables."""

import os
from typing import Annotated

import msgspec

from tessera_identity.domain.secret_box import SecretBox
from tessera_shared.config import ConfigError, load_config, require_secrets
from tessera_shared.contracts.streams import OtpStream
from tessera_shared.nats import check_servers_setting
from tessera_shared.settings import Port, ServiceSettings

PREFIX = "TESSERA_IDENTITY_"
DEV_OTP_KEY = "dev-only-otp-key-change-me"
DEV_INTERNAL_TOKEN = "dev-only-internal-token-change-me"
# base64 of the 32 bytes "dev-only-totp-key-change-me-now!": for laptops; production refuses it.
DEV_TOTP_KEYS = "dev:ZGV2LW9ubHktdG90cC1rZXktY2hhbmdlLW1lLW5vdyE="

Positive = Annotated[int, msgspec.Meta(ge=1)]


def usable_cpus() -> int:
    """The CPUs this process may run on (taskset, cpusets), not all the machine has: two
    hashing threads on one allowed core only make each hash wait for the other."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class IdentitySettings(ServiceSettings, kw_only=True, frozen=True):
    port: Port = 8001
    database_url: str = "postgresql://postgres@127.0.0.1:5432/tessera"
    """PostgreSQL URL (libpq form). The database must exist; `migrate` creates the tables."""
    database_pool_min: Annotated[int, msgspec.Meta(ge=0)] = 1
    database_pool_max: Positive = 10
    nats_url: str = "nats://127.0.0.1:4222"
    stream_name: str = "TESSERA_OTP"
    subject_prefix: str = ""
    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    """JetStream replicas of the stream (3 on a 3-node cluster; as otp-delivery's)."""
    internal_token: str = DEV_INTERNAL_TOKEN
    """Credential the session service sends on `/internal/` calls (header X-Internal-Token)."""
    otp_hmac_key: str = DEV_OTP_KEY
    """Secret key for the keyed hashes of one-time codes and of throttled usernames."""
    otp_key_id: str = "k1"
    """Id stored with each code hash, so the key can be rotated."""
    otp_ttl_s: Positive = 600
    otp_max_attempts: Positive = 5
    resend_cooldown_s: Annotated[int, msgspec.Meta(ge=0)] = 60
    codes_per_recipient_per_hour: Positive = 5
    codes_per_ip_per_hour: Positive = 30
    argon2_memory_kib: Annotated[int, msgspec.Meta(ge=8192)] = 19456
    argon2_time_cost: Positive = 2
    argon2_parallelism: Positive = 1
    argon2_workers: Positive = msgspec.field(default_factory=usable_cpus)
    """Threads hashing passwords; more concurrent logins wait for a free one."""
    argon2_max_wait_s: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    """Longest wait for a free hashing thread before answering 503."""
    lockout_ip_failures: Positive = 5
    """Failed passwords per account and client IP before that pair is locked."""
    lockout_account_failures: Positive = 20
    """Failed passwords per account, from anywhere, before the account is locked."""
    lockout_window_s: Positive = 900
    lockout_base_s: Positive = 60
    """First lock duration; each further lock lasts five times longer, up to the maximum."""
    lockout_max_s: Positive = 3600
    lockout_slot_wait_s: Annotated[float, msgspec.Meta(ge=0)] = 3.0
    """While the failures and attempts in flight of an account fill its limit, a sign-in waits
    this long for one to finish, then answers 429 `login_attempts_in_progress`."""
    mfa_failures: Positive = 5
    """Wrong TOTP and recovery codes per account, across sign-ins, before they are refused."""
    mfa_window_s: Positive = 900
    """The window of `mfa_failures`, from the first wrong code; refused until it passes."""
    common_passwords_file: str = ""
    """Replace the shipped list of common passwords (one per line)."""
    session_jwks_url: str = "http://127.0.0.1:8002/.well-known/jwks.json"
    """The session service's public keys, to verify the bearer tokens of `/v1/users/...`."""
    session_url: str = "http://127.0.0.1:8002"
    """The session service's internal API, to end sessions after a password change or reset."""
    session_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    """Longest wait for the session service; then the change is refused with 503."""
    token_issuer: str = "tessera"
    token_audience: str = "tessera"
    totp_keys: str = DEV_TOTP_KEYS
    """AES-256-GCM keys sealing TOTP secrets: `id:base64key,...`; the first seals, all open."""
    totp_issuer: str = "Tessera"
    """The name authenticator apps show next to the account."""

    @property
    def stream(self) -> OtpStream:
        return OtpStream(
            name=self.stream_name, subject_prefix=self.subject_prefix, replicas=self.stream_replicas
        )


def load_settings() -> IdentitySettings:
    settings = load_config(IdentitySettings, PREFIX)
    check_servers_setting(settings.nats_url, f"{PREFIX}NATS_URL")
    require_secrets(
        settings,
        PREFIX,
        {
            "otp_hmac_key": DEV_OTP_KEY,
            "internal_token": DEV_INTERNAL_TOKEN,
            "totp_keys": DEV_TOTP_KEYS,
        },
    )
    try:
        SecretBox.from_config(settings.totp_keys)
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}TOTP_KEYS is invalid: {exc}") from None
    return settings
