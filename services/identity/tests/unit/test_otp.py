"""One-time codes: generation, keyed hashing, the state of a stored code and the verdict."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pytest

from tessera_identity.domain.otp import (
    CODE_DIGITS,
    VERDICT_ERRORS,
    OtpState,
    StoredOtp,
    Verdict,
    generate_code,
    hash_code,
    judge,
    state_of,
)
from tessera_shared.errors import ERRORS

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
OTP_ID = UUID("7f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b")
OTHER_ID = UUID("0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d")
CODE = "012345"
NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
EXPIRES_AT = NOW + timedelta(minutes=10)


def _otp(code: str = CODE, **changes: object) -> StoredOtp:
    otp = StoredOtp(
        id=OTP_ID,
        code_hash=hash_code(KEY, OTP_ID, code),
        key_id="k1",
        attempts=0,
        max_attempts=5,
        expires_at=EXPIRES_AT,
        consumed_at=None,
    )
    return msgspec.structs.replace(otp, **changes)


# generate_code


def test_a_generated_code_is_six_ascii_digits() -> None:
    for _ in range(500):
        code = generate_code()
        assert len(code) == CODE_DIGITS == 6
        assert code.isascii()
        assert code.isdigit()


def test_generated_codes_keep_their_leading_zeros() -> None:
    codes = [generate_code() for _ in range(2000)]
    # One in ten codes starts with 0; missing them all in 2000 draws has odds of 0.9**2000.
    assert any(code.startswith("0") for code in codes)
    assert all(len(code) == CODE_DIGITS for code in codes)


def test_generated_codes_spread_over_the_whole_range() -> None:
    codes = [generate_code() for _ in range(2000)]
    assert len(set(codes)) > 1500
    assert {code[0] for code in codes} == set("0123456789")


# hash_code


def test_the_same_key_id_and_code_give_the_same_hash() -> None:
    assert hash_code(KEY, OTP_ID, CODE) == hash_code(KEY, OTP_ID, CODE)


def test_the_hash_depends_on_the_key() -> None:
    assert hash_code(KEY, OTP_ID, CODE) != hash_code(OTHER_KEY, OTP_ID, CODE)


def test_the_hash_depends_on_the_otp_id() -> None:
    assert hash_code(KEY, OTP_ID, CODE) != hash_code(KEY, OTHER_ID, CODE)


def test_the_hash_depends_on_the_code() -> None:
    assert hash_code(KEY, OTP_ID, CODE) != hash_code(KEY, OTP_ID, "012346")


def test_the_hash_does_not_contain_the_code() -> None:
    digest = hash_code(KEY, OTP_ID, CODE)
    assert len(digest) == 32
    assert CODE.encode() not in digest


# state_of


def test_a_fresh_code_is_active() -> None:
    assert state_of(_otp(), NOW) is OtpState.ACTIVE


def test_a_code_is_active_until_the_instant_before_it_expires() -> None:
    assert state_of(_otp(), EXPIRES_AT - timedelta(microseconds=1)) is OtpState.ACTIVE


def test_a_code_expires_exactly_at_expires_at() -> None:
    assert state_of(_otp(), EXPIRES_AT) is OtpState.EXPIRED


def test_a_code_with_attempts_left_is_still_active() -> None:
    assert state_of(_otp(attempts=4, max_attempts=5), NOW) is OtpState.ACTIVE


def test_a_code_is_exhausted_when_attempts_reach_the_maximum() -> None:
    assert state_of(_otp(attempts=5, max_attempts=5), NOW) is OtpState.EXHAUSTED


def test_a_code_is_exhausted_when_attempts_exceed_the_maximum() -> None:
    assert state_of(_otp(attempts=6, max_attempts=5), NOW) is OtpState.EXHAUSTED


def test_a_consumed_code_is_consumed() -> None:
    assert state_of(_otp(consumed_at=NOW), NOW) is OtpState.CONSUMED


def test_the_consumed_state_wins_over_exhausted_and_expired() -> None:
    otp = _otp(consumed_at=NOW, attempts=5, max_attempts=5)
    assert state_of(otp, EXPIRES_AT + timedelta(days=1)) is OtpState.CONSUMED


def test_the_exhausted_state_wins_over_the_expired_state() -> None:
    otp = _otp(attempts=5, max_attempts=5)
    assert state_of(otp, EXPIRES_AT + timedelta(days=1)) is OtpState.EXHAUSTED


# judge


def test_the_right_code_is_accepted() -> None:
    assert judge(_otp(), CODE, KEY, NOW) is Verdict.ACCEPTED


def test_the_right_code_is_accepted_on_the_last_attempt() -> None:
    assert judge(_otp(attempts=4, max_attempts=5), CODE, KEY, NOW) is Verdict.ACCEPTED


def test_a_wrong_code_is_wrong() -> None:
    assert judge(_otp(), "012346", KEY, NOW) is Verdict.WRONG


def test_the_right_code_checked_with_another_key_is_wrong() -> None:
    assert judge(_otp(), CODE, OTHER_KEY, NOW) is Verdict.WRONG


@pytest.mark.parametrize(
    "entered",
    [
        "",
        "12345",
        "1234567",
        " 123456",
        "123456 ",
        "12 456",
        "abcdef",
        "12345a",
        "+12345",
        "-12345",
        "١٢٣٤٥٦",  # Arabic-Indic digits: str.isdigit() is true, int() reads them as 123456
        "１２３４５６",  # fullwidth digits, same trap
        "۱۲۳۴۵۶",  # Extended Arabic-Indic digits
    ],
)
def test_malformed_input_is_wrong_even_if_it_reads_as_the_code(entered: str) -> None:
    otp = _otp(code="123456")
    assert judge(otp, "123456", KEY, NOW) is Verdict.ACCEPTED
    assert judge(otp, entered, KEY, NOW) is Verdict.WRONG


def test_the_right_code_after_expiry_is_expired() -> None:
    assert judge(_otp(), CODE, KEY, EXPIRES_AT) is Verdict.EXPIRED


def test_the_right_code_once_attempts_are_spent_is_exhausted() -> None:
    assert judge(_otp(attempts=5, max_attempts=5), CODE, KEY, NOW) is Verdict.EXHAUSTED


def test_the_right_code_a_second_time_is_used() -> None:
    assert judge(_otp(consumed_at=NOW), CODE, KEY, NOW) is Verdict.USED


def test_a_wrong_code_on_a_spent_otp_reports_the_state_not_wrong() -> None:
    assert judge(_otp(consumed_at=NOW), "999999", KEY, NOW) is Verdict.USED
    assert judge(_otp(attempts=5, max_attempts=5), "999999", KEY, NOW) is Verdict.EXHAUSTED
    assert judge(_otp(), "999999", KEY, EXPIRES_AT) is Verdict.EXPIRED


def test_the_used_verdict_wins_over_exhausted_and_expired() -> None:
    otp = _otp(consumed_at=NOW, attempts=5, max_attempts=5)
    assert judge(otp, CODE, KEY, EXPIRES_AT + timedelta(days=1)) is Verdict.USED


def test_the_exhausted_verdict_wins_over_the_expired_verdict() -> None:
    otp = _otp(attempts=5, max_attempts=5)
    assert judge(otp, CODE, KEY, EXPIRES_AT + timedelta(days=1)) is Verdict.EXHAUSTED


# VERDICT_ERRORS


def test_every_verdict_but_accepted_maps_to_an_error_code() -> None:
    assert set(VERDICT_ERRORS) == set(Verdict) - {Verdict.ACCEPTED}


@pytest.mark.parametrize("verdict", sorted(set(Verdict) - {Verdict.ACCEPTED}))
def test_each_rejecting_verdict_maps_to_a_registered_error_code(verdict: Verdict) -> None:
    assert VERDICT_ERRORS[verdict] in ERRORS


def test_rejecting_verdicts_map_to_distinct_error_codes() -> None:
    assert len(set(VERDICT_ERRORS.values())) == len(VERDICT_ERRORS)
