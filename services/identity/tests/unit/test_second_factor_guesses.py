"""Wrong second-factor codes per account: the limit, the window, and when codes are refused."""

from datetime import UTC, datetime, timedelta

from tessera_identity.domain.guesses import Guesses, GuessPolicy, after_wrong, refused_for

POLICY = GuessPolicy(failures=5, window_s=900)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_codes_are_checked_until_the_limit_of_wrong_ones_is_reached() -> None:
    guesses = Guesses(failures=0, window_started_at=T0)
    for _ in range(4):
        guesses = after_wrong(POLICY, guesses, T0)
        assert refused_for(POLICY, guesses, T0) == 0
    guesses = after_wrong(POLICY, guesses, T0)
    assert guesses.failures == 5
    assert refused_for(POLICY, guesses, T0) == 900


def test_at_the_limit_codes_are_refused_until_the_window_from_the_first_wrong_one_passes() -> None:
    at_limit = Guesses(failures=5, window_started_at=T0)
    assert refused_for(POLICY, at_limit, T0 + timedelta(seconds=600)) == 300
    assert refused_for(POLICY, at_limit, T0 + timedelta(seconds=899.5)) == 1
    assert refused_for(POLICY, at_limit, T0 + timedelta(seconds=900)) == 0


def test_a_wrong_code_after_the_window_starts_a_new_count() -> None:
    old = Guesses(failures=4, window_started_at=T0)
    later = T0 + timedelta(seconds=901)
    assert after_wrong(POLICY, old, later) == Guesses(failures=1, window_started_at=later)
    assert after_wrong(POLICY, old, T0 + timedelta(seconds=10)) == Guesses(
        failures=5, window_started_at=T0
    )
