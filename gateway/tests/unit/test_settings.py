from tessera_gateway.config import PREFIX, GatewaySettings, load_settings
from tessera_shared.testing.settings_contract import SettingsContract


class TestGatewaySettings(SettingsContract):
    struct = GatewaySettings
    prefix = PREFIX
    load = staticmethod(load_settings)
