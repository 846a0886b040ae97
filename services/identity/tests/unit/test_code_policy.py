"""The resend cool-down: how many whole seconds remain before another code may go out."""

from datetime import UTC, datetime, timedelta

import pytest

from tessera_identity.domain.code_policy import CodePolicy, cooldown_left

POLICY = CodePolicy()  # 60 s cool-down
SENT = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def test_the_default_cooldown_is_sixty_seconds() -> None:
    assert POLICY.cooldown_s == 60


def test_without_a_previous_send_there_is_no_cooldown() -> None:
    assert cooldown_left(POLICY, None, SENT) == 0


def test_right_after_a_send_the_whole_cooldown_is_left() -> None:
    assert cooldown_left(POLICY, SENT, SENT) == 60


@pytest.mark.parametrize(
    ("elapsed", "left"),
    [
        (timedelta(seconds=1), 59),
        (timedelta(seconds=30), 30),
        (timedelta(seconds=59), 1),
        (timedelta(milliseconds=1), 60),
        (timedelta(milliseconds=500), 60),
        (timedelta(seconds=30, milliseconds=1), 30),
        (timedelta(seconds=59, milliseconds=500), 1),
    ],
)
def test_the_cooldown_counts_down_in_whole_seconds_rounding_up(
    elapsed: timedelta, left: int
) -> None:
    assert cooldown_left(POLICY, SENT, SENT + elapsed) == left


@pytest.mark.parametrize(
    "elapsed",
    [
        timedelta(microseconds=1),
        timedelta(microseconds=100),
        timedelta(seconds=29, microseconds=999_900),
        timedelta(seconds=59, microseconds=1),
    ],
)
def test_any_fraction_of_a_second_left_rounds_up_to_a_whole_second(elapsed: timedelta) -> None:
    remaining = timedelta(seconds=POLICY.cooldown_s) - elapsed
    expected = -(-remaining // timedelta(seconds=1))  # ceiling division
    assert cooldown_left(POLICY, SENT, SENT + elapsed) == expected


def test_a_sub_millisecond_remainder_still_blocks_a_resend() -> None:
    almost = SENT + timedelta(seconds=59, microseconds=999_900)
    assert cooldown_left(POLICY, SENT, almost) == 1


@pytest.mark.parametrize(
    "elapsed", [timedelta(seconds=60), timedelta(seconds=61), timedelta(hours=1)]
)
def test_once_the_cooldown_has_passed_none_is_left(elapsed: timedelta) -> None:
    assert cooldown_left(POLICY, SENT, SENT + elapsed) == 0


def test_a_custom_cooldown_is_honoured() -> None:
    policy = CodePolicy(cooldown_s=10)
    assert cooldown_left(policy, SENT, SENT + timedelta(seconds=4)) == 6
    assert cooldown_left(policy, SENT, SENT + timedelta(seconds=10)) == 0


def test_a_zero_cooldown_never_blocks() -> None:
    assert cooldown_left(CodePolicy(cooldown_s=0), SENT, SENT) == 0
