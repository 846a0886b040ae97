from tessera_identity.config import PREFIX, IdentitySettings, load_settings
from tessera_shared.testing.settings_contract import SettingsContract


class TestIdentitySettings(SettingsContract):
    struct = IdentitySettings
    prefix = PREFIX
    load = staticmethod(load_settings)
