import pytest

from tessera_otp_delivery.config import PREFIX, OtpDeliverySettings, load_settings
from tessera_shared.config import ConfigError
from tessera_shared.testing.settings_contract import SettingsContract


class TestOtpDeliverySettings(SettingsContract):
    struct = OtpDeliverySettings
    prefix = PREFIX
    load = staticmethod(load_settings)


def test_a_malformed_nats_url_list_stops_the_start(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}NATS_URL", "nats://a:4222,nats//b:4222")
    with pytest.raises(ConfigError, match=f"^{PREFIX}NATS_URL is invalid: entry 2 of 2"):
        load_settings()
    monkeypatch.setenv(f"{PREFIX}NATS_URL", "nats://a:4222,nats://u:p@b:4222")
    assert load_settings().nats_url == "nats://a:4222,nats://u:p@b:4222"
