from tessera_session.config import PREFIX, SessionSettings, load_settings
from tessera_shared.testing.settings_contract import SettingsContract


class TestSessionSettings(SettingsContract):
    struct = SessionSettings
    prefix = PREFIX
    load = staticmethod(load_settings)
