import pytest

from tessera_session.config import PREFIX, SessionSettings, load_settings
from tessera_shared.config import ConfigError
from tessera_shared.testing.settings_contract import SettingsContract


class TestSessionSettings(SettingsContract):
    struct = SessionSettings
    prefix = PREFIX
    load = staticmethod(load_settings)


def test_production_refuses_development_secrets_and_insecure_cookies(monkeypatch):
    monkeypatch.setenv("TESSERA_SESSION_ENVIRONMENT", "production")
    monkeypatch.setenv("TESSERA_SESSION_INTERNAL_TOKEN", "i" * 32)
    monkeypatch.delenv("TESSERA_SESSION_REFRESH_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"^TESSERA_SESSION_REFRESH_KEY must be set"):
        load_settings()
    monkeypatch.setenv("TESSERA_SESSION_REFRESH_KEY", "r" * 32)
    monkeypatch.setenv("TESSERA_SESSION_COOKIE_SECURE", "false")
    with pytest.raises(ConfigError, match=r"^TESSERA_SESSION_COOKIE_SECURE cannot be off"):
        load_settings()


def test_a_malformed_nats_url_list_stops_the_start(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}NATS_URL", "nats://a:4222,,nats://b:4222")
    with pytest.raises(ConfigError, match=f"^{PREFIX}NATS_URL is invalid: entry 2 of 3 is empty"):
        load_settings()
