"""What `make run` gives the parts: its defaults, then `.env`, then the environment, and the
banner saying what came out. Pure: `tools/run_local.py` does the starting.

A developer's own `TESSERA_*` setting must win: a runner that quietly forces the console
providers or the production rate limits over it makes the real paths untryable locally.
"""

from collections.abc import Mapping
from pathlib import Path

import msgspec
from dotenv import dotenv_values

PREFIX = "TESSERA_"
DEV_AUTH_PER_MINUTE = 60
"""Sign-in and registration calls a minute under `make run`: more than a person clicking makes
(production's 5 per IP locks a newcomer out at the sixth try)."""
DEV_CODES_PER_IP_PER_HOUR = 300


PART_PREFIXES = ("TESSERA_IDENTITY_", "TESSERA_SESSION_", "TESSERA_OTP_", "TESSERA_GATEWAY_")
SUITE_WIDE = ("LOG_LEVEL", "OTEL_EXPORTER", "OTEL_ENDPOINT")
"""`.env.example` names these once (TESSERA_LOG_LEVEL…) for every part, as compose maps them."""


def read_dotenv(path: Path) -> dict[str, str]:
    """The `TESSERA_*` lines of a `.env` file (none when it is missing); others are compose's.

    An empty value counts as unset, as for compose's `${NAME:-default}`: a copied
    `.env.example` with its secrets still blank must not blank the development ones."""
    if not path.is_file():
        return {}
    values = dotenv_values(path, interpolate=False)
    return {k: v for k, v in values.items() if k.startswith(PREFIX) and v}


def user_settings(environ: Mapping[str, str], dotenv: Mapping[str, str]) -> dict[str, str]:
    """The developer's `TESSERA_*` settings: the environment wins over `.env`."""
    mine = {k: v for k, v in environ.items() if k.startswith(PREFIX)}
    return {**dotenv, **mine}


def effective(defaults: Mapping[str, str], user: Mapping[str, str]) -> dict[str, str]:
    """The parts' environment: the runner's defaults, each overridden by the user's setting;
    a suite-wide one (TESSERA_LOG_LEVEL) goes to every part that has no setting of its own."""
    wide = {
        f"{prefix}{name}": user[f"{PREFIX}{name}"]
        for name in SUITE_WIDE
        if f"{PREFIX}{name}" in user
        for prefix in PART_PREFIXES
    }
    return {**defaults, **wide, **user}


def flag(value: str | None, default: bool) -> bool:
    """A yes/no setting as the parts read booleans (true/false, 1/0); ValueError otherwise."""
    if value is None:
        return default
    try:
        return msgspec.convert(value, bool, strict=False)
    except msgspec.ValidationError:
        raise ValueError(f"expected true or false, got {value!r}") from None


def dev_defaults(*, inbox: bool, smtp_port: int, inbox_port: int) -> dict[str, str]:
    """Delivery to the local inbox (or the console without it) and limits a person never hits."""
    if inbox:
        delivery = {
            "TESSERA_OTP_EMAIL_PROVIDERS": "smtp",
            "TESSERA_OTP_SMTP_HOST": "127.0.0.1",
            "TESSERA_OTP_SMTP_PORT": str(smtp_port),
            "TESSERA_OTP_SMTP_SECURITY": "none",
            "TESSERA_OTP_SMS_PROVIDERS": "webhook",
            "TESSERA_OTP_SMS_WEBHOOK_URL": f"http://127.0.0.1:{inbox_port}/sms",
        }
    else:
        delivery = {
            "TESSERA_OTP_EMAIL_PROVIDERS": "console",
            "TESSERA_OTP_SMS_PROVIDERS": "console",
        }
    rate = str(DEV_AUTH_PER_MINUTE)
    return {
        **delivery,
        "TESSERA_GATEWAY_RATE_LIMIT_AUTH_PER_MINUTE": rate,
        "TESSERA_GATEWAY_RATE_LIMIT_REGISTRATION_PER_MINUTE": rate,
        "TESSERA_GATEWAY_RATE_LIMIT_ACCOUNT_PER_MINUTE": rate,
        "TESSERA_GATEWAY_RATE_LIMIT_DEVICE_PER_MINUTE": rate,
        "TESSERA_IDENTITY_CODES_PER_IP_PER_HOUR": str(DEV_CODES_PER_IP_PER_HOUR),
        # Local runs are plain HTTP: browsers drop Secure cookies on hosts other than
        # localhost. Production refuses this setting.
        "TESSERA_SESSION_COOKIE_SECURE": "false",
    }


def web_defaults(*, web_port: int, gateway_port: int, root: Path) -> dict[str, str]:
    """The example web app on its own origin, and a gateway that lets it call with credentials.

    The page calls the gateway at `localhost`, not 127.0.0.1: ports do not make sites, so
    localhost:3000 and localhost:8080 are the same site and the SameSite=Strict refresh cookie
    rides along; 127.0.0.1 would be another site to the page."""
    return {
        "TESSERA_DEV_WEB_PORT": str(web_port),
        "TESSERA_DEV_WEB_ROOT": str(root),
        "TESSERA_DEV_WEB_GATEWAY_URL": f"http://localhost:{gateway_port}",
        "TESSERA_GATEWAY_CORS_ORIGINS": (
            f"http://localhost:{web_port},http://127.0.0.1:{web_port}"
        ),
    }


class Banner(msgspec.Struct, frozen=True, kw_only=True):
    """What the banner names; `env` is the parts' effective environment."""

    ports: Mapping[str, int]
    inbox_url: str | None
    web_url: str | None = None
    postgres_url: str
    redis_url: str
    nats_url: str
    data: Path
    api_key: str
    admin_key: str
    env: Mapping[str, str]


def _limit(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(f"TESSERA_GATEWAY_RATE_LIMIT_{name}_PER_MINUTE", default)


def banner_text(banner: Banner) -> str:
    """The lines printed once everything is ready."""
    env, ports = banner.env, banner.ports
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    email = env.get("TESSERA_OTP_EMAIL_PROVIDERS", "console")
    sms = env.get("TESSERA_OTP_SMS_PROVIDERS", "console")
    if "smtp" in email:
        email += f" ({env.get('TESSERA_OTP_SMTP_HOST', '')}:{env.get('TESSERA_OTP_SMTP_PORT', '')})"
    if "webhook" in sms:
        sms += f" ({env.get('TESSERA_OTP_SMS_WEBHOOK_URL', '')})"
    cors = env.get("TESSERA_GATEWAY_CORS_ORIGINS", "") or "none (set TESSERA_GATEWAY_CORS_ORIGINS)"
    inbox = banner.inbox_url or "off (TESSERA_DEV_INBOX=false): codes are in the logs"
    limits = (
        f"sign-in {_limit(env, 'AUTH', '5')}/min per IP, "
        f"{_limit(env, 'ACCOUNT', '10')}/min per account, "
        f"{_limit(env, 'DEVICE', '10')}/min per device; "
        f"registration {_limit(env, 'REGISTRATION', '10')}/min per IP; "
        f"codes {env.get('TESSERA_IDENTITY_CODES_PER_IP_PER_HOUR', '30')}/h per IP"
    )
    return f"""
  Tessera is running. Ctrl-C stops everything.

  gateway (public)   {gateway}
                     try: curl -s {gateway}/health/ready
  API docs           {gateway}/docs
  OpenAPI            {gateway}/openapi.json
  inbox (codes)      {inbox}
  web app            {banner.web_url or "off (TESSERA_DEV_WEB=false)"}
  API key            {banner.api_key}  (send as X-API-Key on registration routes)
  Admin key          {banner.admin_key}  (TESSERA_ADMIN_KEY for tessera-admin; Bearer on /admin/v1)
  CORS origins       {cors}
  email delivery     {email}
  SMS delivery       {sms}
  dev limits         {limits}
                     (TESSERA_GATEWAY_RATE_LIMIT_*; production defaults are stricter)
  identity           http://127.0.0.1:{ports["identity"]}
  session            http://127.0.0.1:{ports["session"]}
  otp-delivery       http://127.0.0.1:{ports["otp-delivery"]} (health only)
  PostgreSQL         {banner.postgres_url}
  Redis              {banner.redis_url}
  NATS               {banner.nats_url}
  data               {banner.data}  (make reset wipes it)
  settings           environment > .env > these defaults (TESSERA_* names)
"""
