from tessera_otp_delivery.config import PREFIX, OtpDeliverySettings, load_settings
from tessera_shared.testing.settings_contract import SettingsContract


class TestOtpDeliverySettings(SettingsContract):
    struct = OtpDeliverySettings
    prefix = PREFIX
    load = staticmethod(load_settings)
