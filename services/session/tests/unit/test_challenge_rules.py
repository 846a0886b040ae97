"""The MFA rules without any server: which step a sign-in needs, which factor, what counts."""

import pytest

from tessera_session.domain.challenge import (
    MAX_WRONG_CODES,
    ChallengeState,
    Factor,
    MfaStep,
    factor_of,
    mfa_step,
    spends_attempt,
)


@pytest.mark.parametrize("mode", ["email", "sms", "totp"])
@pytest.mark.parametrize("require_totp", [False, True])
def test_a_user_with_a_second_factor_gets_its_own_mode_whatever_the_policy(mode, require_totp):
    assert mfa_step(mode, require_totp=require_totp) == MfaStep(mfa_mode=mode)


def test_a_user_without_a_second_factor_signs_in_at_once_unless_the_policy_requires_totp():
    assert mfa_step("none", require_totp=False) is None
    assert mfa_step("none", require_totp=True) == MfaStep(mfa_mode="totp", totp_setup_required=True)


@pytest.mark.parametrize(
    ("mode", "recovery", "factor"),
    [
        ("email", False, Factor.CODE),
        ("sms", False, Factor.CODE),
        ("totp", False, Factor.TOTP),
        ("email", True, Factor.RECOVERY),
        ("totp", True, Factor.RECOVERY),
    ],
)
def test_a_recovery_code_stands_in_for_any_mode_otherwise_the_mode_picks_the_check(
    mode, recovery, factor
):
    assert factor_of(mode, recovery=recovery) is factor


def test_the_factor_is_the_amr_entry_of_the_session():
    assert [f.value for f in Factor] == ["otp", "totp", "recovery"]


@pytest.mark.parametrize(
    "code",
    ["otp_invalid", "otp_expired", "otp_used", "otp_attempts_exceeded", "recovery_code_invalid"],
)
def test_a_refused_code_spends_the_attempt(code):
    assert spends_attempt(code)


@pytest.mark.parametrize("code", ["service_unavailable", "bad_gateway", "internal_error"])
def test_a_failure_of_the_suite_costs_the_person_no_attempt(code):
    assert not spends_attempt(code)


def test_the_attempt_limit_and_the_states_are_pinned():
    assert MAX_WRONG_CODES == 5
    assert [s.value for s in ChallengeState] == ["open", "completed", "exhausted", "gone"]
