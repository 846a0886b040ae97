"""Provider settings: what `load_settings()` refuses at start-up, and what it accepts."""

import os
import re

import pytest

from tessera_otp_delivery.config import PREFIX, OtpDeliverySettings, load_settings
from tessera_shared.config import ConfigError


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean TESSERA_OTP_* environment; the test sets what it needs."""
    for name in [n for n in os.environ if n.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    return monkeypatch


def refused(variable: str) -> pytest.RaisesExc[ConfigError]:
    return pytest.raises(ConfigError, match="^" + re.escape(f"{PREFIX}{variable}"))


def test_an_unknown_email_provider_is_refused_naming_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_EMAIL_PROVIDERS", "smtp,carrier-pigeon")
    with refused("EMAIL_PROVIDERS"):
        load_settings()


def test_an_unknown_sms_provider_is_refused_naming_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "smoke-signals")
    with refused("SMS_PROVIDERS"):
        load_settings()


def test_an_email_only_provider_is_refused_for_sms(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "smtp")
    with refused("SMS_PROVIDERS"):
        load_settings()


def test_console_email_is_refused_in_production(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_ENVIRONMENT", "production")
    env.setenv("TESSERA_OTP_EMAIL_PROVIDERS", "smtp, console")
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "webhook")
    env.setenv("TESSERA_OTP_SMS_WEBHOOK_URL", "https://sms.example/send")
    with pytest.raises(ConfigError, match=r"^TESSERA_OTP_EMAIL_PROVIDERS\b.*production"):
        load_settings()


def test_console_sms_is_refused_in_production(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_ENVIRONMENT", "production")
    env.setenv("TESSERA_OTP_EMAIL_PROVIDERS", "smtp")
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "console")
    with pytest.raises(ConfigError, match=r"^TESSERA_OTP_SMS_PROVIDERS\b.*production"):
        load_settings()


def test_the_default_console_providers_are_refused_in_production(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("TESSERA_OTP_ENVIRONMENT", "production")
    with pytest.raises(ConfigError, match="production"):
        load_settings()


def test_console_is_allowed_in_development(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_EMAIL_PROVIDERS", "console")
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "console")
    assert load_settings().providers("sms") == ["console"]


def test_the_webhook_provider_needs_its_url(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "webhook")
    with refused("SMS_WEBHOOK_URL"):
        load_settings()


def test_the_twilio_provider_needs_its_account_sid(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "twilio")
    env.setenv("TESSERA_OTP_TWILIO_AUTH_TOKEN", "token")
    with refused("TWILIO_ACCOUNT_SID"):
        load_settings()


def test_the_twilio_provider_needs_its_auth_token(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "twilio")
    env.setenv("TESSERA_OTP_TWILIO_ACCOUNT_SID", "AC123")
    with refused("TWILIO_AUTH_TOKEN"):
        load_settings()


def test_a_fallback_provider_is_checked_too(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "console,webhook")
    with refused("SMS_WEBHOOK_URL"):
        load_settings()


@pytest.mark.parametrize("value", ["", " ", " , ,"])
@pytest.mark.parametrize("channel", ["EMAIL", "SMS"])
def test_an_empty_provider_list_is_refused(
    env: pytest.MonkeyPatch, channel: str, value: str
) -> None:
    env.setenv(f"TESSERA_OTP_{channel}_PROVIDERS", value)
    with pytest.raises(ConfigError, match=f"{PREFIX}{channel}_PROVIDERS must name"):
        load_settings()


def test_the_error_does_not_echo_a_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "twilio")
    env.setenv("TESSERA_OTP_TWILIO_AUTH_TOKEN", "s3cr3t-token-value")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "s3cr3t-token-value" not in str(caught.value)


def test_a_valid_production_combination_is_accepted(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_ENVIRONMENT", "production")
    env.setenv("TESSERA_OTP_EMAIL_PROVIDERS", "smtp")
    env.setenv("TESSERA_OTP_SMS_PROVIDERS", "webhook, twilio")
    env.setenv("TESSERA_OTP_SMS_WEBHOOK_URL", "https://sms.example/send")
    env.setenv("TESSERA_OTP_TWILIO_ACCOUNT_SID", "AC123")
    env.setenv("TESSERA_OTP_TWILIO_AUTH_TOKEN", "token")
    settings = load_settings()
    assert settings.environment == "production"
    assert settings.providers("email") == ["smtp"]
    assert settings.providers("sms") == ["webhook", "twilio"]
    assert settings.sms_webhook_url == "https://sms.example/send"


def test_providers_are_split_on_commas_and_trimmed() -> None:
    settings = OtpDeliverySettings(
        email_providers=" smtp ,console ", sms_providers="webhook,, twilio ,console,"
    )
    assert settings.providers("email") == ["smtp", "console"]
    assert settings.providers("sms") == ["webhook", "twilio", "console"]


def test_providers_keep_the_configured_order(env: pytest.MonkeyPatch) -> None:
    env.setenv("TESSERA_OTP_EMAIL_PROVIDERS", "console , smtp")
    assert load_settings().providers("email") == ["console", "smtp"]


def test_a_webhook_auth_header_without_a_name_is_refused(monkeypatch):
    for name in [n for n in os.environ if n.startswith("TESSERA_OTP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TESSERA_OTP_SMS_PROVIDERS", "webhook")
    monkeypatch.setenv("TESSERA_OTP_SMS_WEBHOOK_URL", "http://127.0.0.1:9/sms")
    monkeypatch.setenv("TESSERA_OTP_SMS_WEBHOOK_AUTH_HEADER", "Bearer abc")
    with pytest.raises(ConfigError, match=r"^TESSERA_OTP_SMS_WEBHOOK_AUTH_HEADER"):
        load_settings()
