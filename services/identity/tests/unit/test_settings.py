import pytest

from tessera_identity.config import PREFIX, IdentitySettings, load_settings
from tessera_shared.config import ConfigError
from tessera_shared.testing.settings_contract import SettingsContract


class TestIdentitySettings(SettingsContract):
    struct = IdentitySettings
    prefix = PREFIX
    load = staticmethod(load_settings)


def test_production_refuses_the_development_secrets(monkeypatch):
    monkeypatch.setenv("TESSERA_IDENTITY_ENVIRONMENT", "production")
    monkeypatch.setenv("TESSERA_IDENTITY_INTERNAL_TOKEN", "i" * 32)
    monkeypatch.delenv("TESSERA_IDENTITY_OTP_HMAC_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"^TESSERA_IDENTITY_OTP_HMAC_KEY must be set"):
        load_settings()
    monkeypatch.setenv("TESSERA_IDENTITY_OTP_HMAC_KEY", "o" * 32)
    assert load_settings().environment == "production"
