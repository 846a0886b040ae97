import base64

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
    monkeypatch.delenv("TESSERA_IDENTITY_TOTP_KEYS", raising=False)
    with pytest.raises(ConfigError, match=r"^TESSERA_IDENTITY_TOTP_KEYS must be set"):
        load_settings()
    monkeypatch.setenv("TESSERA_IDENTITY_TOTP_KEYS", "k1:" + base64.b64encode(b"t" * 32).decode())
    assert load_settings().environment == "production"


def test_malformed_totp_keys_stop_the_start_without_echoing_them(monkeypatch):
    monkeypatch.setenv("TESSERA_IDENTITY_TOTP_KEYS", "k1:not-a-key-secret")
    with pytest.raises(ConfigError, match=r"^TESSERA_IDENTITY_TOTP_KEYS is invalid") as refused:
        load_settings()
    assert "not-a-key-secret" not in str(refused.value)
