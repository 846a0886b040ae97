"""The pure rules of the second factor: modes, TOTP codes, recovery codes, sealed secrets."""

import base64
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pyotp
import pytest

from tessera_identity.domain import recovery, totp
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.mfa import (
    Factors,
    MfaMode,
    after_credential_verified,
    after_totp_removed,
    available,
    needs_step_up,
    newly_enabled,
)
from tessera_identity.domain.secret_box import SecretBox, SecretBoxError

pytestmark = pytest.mark.unit

BOTH = Factors(email=True, phone=True, totp=False)
EMAIL_ONLY = Factors(email=True, phone=False, totp=False)


def test_a_second_verified_credential_turns_mfa_on_with_its_channel():
    assert after_credential_verified(MfaMode.NONE, BOTH, CredentialType.PHONE) is MfaMode.SMS
    assert after_credential_verified(MfaMode.NONE, BOTH, CredentialType.EMAIL) is MfaMode.EMAIL


def test_a_first_credential_or_an_mfa_already_on_is_left_alone():
    assert after_credential_verified(MfaMode.NONE, EMAIL_ONLY, CredentialType.EMAIL) is MfaMode.NONE
    assert after_credential_verified(MfaMode.TOTP, BOTH, CredentialType.PHONE) is MfaMode.TOTP


def test_modes_are_offered_only_for_factors_the_user_has():
    assert available(EMAIL_ONLY) == {MfaMode.NONE, MfaMode.EMAIL}
    assert available(Factors(email=True, phone=True, totp=True)) == set(MfaMode)


def test_removing_the_app_falls_back_to_sms_with_two_credentials_else_off():
    assert after_totp_removed(MfaMode.TOTP, BOTH) is MfaMode.SMS
    assert after_totp_removed(MfaMode.TOTP, EMAIL_ONLY) is MfaMode.NONE
    assert after_totp_removed(MfaMode.EMAIL, EMAIL_ONLY) is MfaMode.EMAIL


def test_only_turning_mfa_off_needs_a_step_up_and_only_turning_it_on_is_new():
    assert needs_step_up(MfaMode.SMS, MfaMode.NONE)
    assert not needs_step_up(MfaMode.SMS, MfaMode.TOTP)
    assert not needs_step_up(MfaMode.NONE, MfaMode.NONE)
    assert newly_enabled(MfaMode.NONE, MfaMode.EMAIL)
    assert not newly_enabled(MfaMode.SMS, MfaMode.TOTP)


NOW = datetime(2026, 12, 2, 12, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def code_at(offset_steps: int) -> str:
    return pyotp.TOTP(SECRET).at(NOW + timedelta(seconds=30 * offset_steps))


def test_a_code_of_the_current_or_a_neighbouring_step_is_accepted():
    step = pyotp.TOTP(SECRET).timecode(NOW)
    for offset in (-1, 0, 1):
        judged = totp.judge(SECRET, code_at(offset), NOW, last_step=0)
        assert judged == totp.Judgement(totp.TotpVerdict.ACCEPTED, step + offset)


def test_codes_two_steps_away_and_malformed_codes_are_wrong():
    for entered in (code_at(2), code_at(-2), "12345", "abcdef", "", "1234567"):
        assert totp.judge(SECRET, entered, NOW, 0).verdict is totp.TotpVerdict.WRONG


def test_a_code_of_a_step_already_used_or_older_is_a_replay():
    step = pyotp.TOTP(SECRET).timecode(NOW)
    assert totp.judge(SECRET, code_at(0), NOW, step).verdict is totp.TotpVerdict.REPLAYED
    assert totp.judge(SECRET, code_at(-1), NOW, step).verdict is totp.TotpVerdict.REPLAYED
    assert totp.judge(SECRET, code_at(1), NOW, step).verdict is totp.TotpVerdict.ACCEPTED


def test_new_secrets_carry_160_bits():
    assert len(base64.b32decode(totp.new_secret())) == 20


def test_recovery_codes_are_ten_distinct_readable_codes_typed_in_any_form():
    codes = recovery.generate()
    assert len(set(codes)) == recovery.COUNT
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    user = uuid4()
    key = b"k" * 32
    digest = recovery.digest(key, user, codes[0])
    assert recovery.digest(key, user, codes[0].upper().replace("-", " ")) == digest
    assert recovery.digest(key, uuid4(), codes[0]) != digest  # bound to its user


def test_a_sealed_secret_opens_with_its_key_and_row_only():
    old = base64.b64encode(b"o" * 32).decode()
    new = base64.b64encode(b"n" * 32).decode()
    before = SecretBox.from_config(f"k1:{old}")
    kid, sealed = before.seal(b"secret", b"row-1")
    after = SecretBox.from_config(f"k2:{new},k1:{old}")  # rotated: k2 seals, k1 still opens
    assert after.open(kid, sealed, b"row-1") == b"secret"
    assert after.seal(b"secret", b"row-1")[0] == "k2"
    with pytest.raises(SecretBoxError):
        after.open(kid, sealed, b"row-2")
    with pytest.raises(SecretBoxError):
        after.open(kid, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"row-1")
    with pytest.raises(SecretBoxError):
        SecretBox.from_config(f"k2:{new}").open(kid, sealed, b"row-1")


@pytest.mark.parametrize("config", ["", "k1", "k1:short", "k1:!!!", f"k1:{'a' * 44},k1:{'a' * 44}"])
def test_malformed_key_settings_are_refused(config):
    with pytest.raises(ValueError, match="key"):
        SecretBox.from_config(config)
