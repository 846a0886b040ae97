import pytest

from tessera_gateway.config import PREFIX, GatewaySettings, load_settings
from tessera_shared.config import ConfigError
from tessera_shared.testing.settings_contract import SettingsContract


class TestGatewaySettings(SettingsContract):
    struct = GatewaySettings
    prefix = PREFIX
    load = staticmethod(load_settings)


def test_a_metrics_token_that_could_be_guessed_is_refused_in_production(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}ENVIRONMENT", "production")
    monkeypatch.setenv(f"{PREFIX}TRUSTED_PROXIES", "10.0.0.0/8")
    monkeypatch.setenv(f"{PREFIX}INTERNAL_TOKEN", "i" * 32)
    monkeypatch.setenv(f"{PREFIX}METRICS_TOKEN", "short")
    with pytest.raises(ConfigError, match=f"^{PREFIX}METRICS_TOKEN must be set to a secret"):
        load_settings()

    monkeypatch.setenv(f"{PREFIX}METRICS_TOKEN", "m" * 32)
    assert load_settings().metrics_token == "m" * 32
    monkeypatch.delenv(f"{PREFIX}METRICS_TOKEN")
    assert load_settings().metrics_token == ""  # no /metrics at all: nothing to guess


def test_the_development_internal_token_is_refused_in_production_while_admin_is_on(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}ENVIRONMENT", "production")
    monkeypatch.setenv(f"{PREFIX}TRUSTED_PROXIES", "10.0.0.0/8")
    monkeypatch.delenv(f"{PREFIX}INTERNAL_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=f"^{PREFIX}INTERNAL_TOKEN must be set to a secret"):
        load_settings()

    monkeypatch.setenv(f"{PREFIX}INTERNAL_TOKEN", "i" * 32)
    assert load_settings().internal_token == "i" * 32
    monkeypatch.delenv(f"{PREFIX}INTERNAL_TOKEN")
    monkeypatch.setenv(f"{PREFIX}ADMIN_ENABLED", "false")
    assert not load_settings().admin_enabled  # no admin request: the token is never sent
