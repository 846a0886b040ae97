"""What every part's settings promise; a part's test subclasses `SettingsContract`."""

import os
from collections.abc import Callable
from typing import ClassVar

import msgspec
import pytest

from tessera_shared.config import ConfigError
from tessera_shared.settings import ServiceSettings
from tessera_shared.testing.docs import undocumented_settings


class SettingsContract:
    struct: ClassVar[type[msgspec.Struct]]
    prefix: ClassVar[str]
    load: ClassVar[Callable[[], ServiceSettings]]

    def test_every_setting_is_documented_in_the_readme(self) -> None:
        assert undocumented_settings(self.struct, self.prefix) == []

    def test_the_defaults_start_a_local_development_part(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in [n for n in os.environ if n.startswith(self.prefix)]:
            monkeypatch.delenv(name)
        settings = type(self).load()
        assert settings.environment == "development"
        assert settings.host == "127.0.0.1"

    def test_a_bad_port_is_refused_naming_the_variable(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(f"{self.prefix}PORT", "0")
        with pytest.raises(ConfigError, match=f"^{self.prefix}PORT is invalid"):
            type(self).load()
