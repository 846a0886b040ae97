import os

import pytest

from tessera_gateway.config import PREFIX, GatewaySettings, load_settings
from tessera_shared.config import ConfigError
from tessera_shared.testing.docs import undocumented_settings


def test_every_setting_is_documented_in_the_readme():
    assert undocumented_settings(GatewaySettings, PREFIX) == []


def test_the_defaults_start_a_local_development_part(monkeypatch):
    for name in [n for n in os.environ if n.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.host == "127.0.0.1"


def test_a_bad_port_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}PORT", "0")
    with pytest.raises(ConfigError, match=f"^{PREFIX}PORT is invalid"):
        load_settings()
