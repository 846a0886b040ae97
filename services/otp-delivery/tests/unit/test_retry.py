"""Retry policy: exponential backoff capped at max_s, dead letter after max_attempts."""

import pytest

from tessera_otp_delivery.domain.retry import Outcome, RetryPolicy


def test_the_first_retry_waits_the_base_delay() -> None:
    assert RetryPolicy(base_s=2.0).delay(1) == 2.0


def test_each_further_retry_doubles_the_delay() -> None:
    policy = RetryPolicy(base_s=2.0, max_s=1000.0)
    assert [policy.delay(attempt) for attempt in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]


def test_the_delay_never_exceeds_the_cap() -> None:
    policy = RetryPolicy(base_s=2.0, max_s=300.0)
    assert policy.delay(8) == 256.0
    assert policy.delay(9) == 300.0
    assert policy.delay(50) == 300.0


def test_a_cap_below_the_base_wins() -> None:
    assert RetryPolicy(base_s=10.0, max_s=3.0).delay(1) == 3.0


def test_the_delay_is_a_float_even_for_whole_seconds() -> None:
    assert isinstance(RetryPolicy(base_s=1, max_s=10).delay(2), float)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_a_failure_before_the_last_attempt_is_retried(attempt: int) -> None:
    assert RetryPolicy(max_attempts=5).after_failure(attempt) is Outcome.RETRY


def test_a_failure_of_the_last_attempt_is_dead_lettered() -> None:
    assert RetryPolicy(max_attempts=5).after_failure(5) is Outcome.DEAD


def test_a_failure_after_the_last_attempt_is_dead_lettered_too() -> None:
    assert RetryPolicy(max_attempts=5).after_failure(6) is Outcome.DEAD


def test_a_single_attempt_policy_never_retries() -> None:
    assert RetryPolicy(max_attempts=1).after_failure(1) is Outcome.DEAD
