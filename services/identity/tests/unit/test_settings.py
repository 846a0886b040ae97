import base64
import os
import subprocess
import sys

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


def test_the_default_hashing_threads_follow_the_cpus_the_process_may_use():
    # A process pinned to one CPU (taskset, a container's cpuset) gets one hashing thread.
    program = (
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
        "from tessera_identity.config import load_settings; print(load_settings().argon2_workers)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    pinned = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert pinned.stdout.strip() == "1"
    assert IdentitySettings().argon2_workers == len(os.sched_getaffinity(0))


def test_a_malformed_nats_url_list_stops_the_start(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}NATS_URL", "nats://a:4222,,nats://b:4222")
    with pytest.raises(ConfigError, match=f"^{PREFIX}NATS_URL is invalid: entry 2 of 3 is empty"):
        load_settings()
