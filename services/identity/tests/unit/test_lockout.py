"""Failed-password lockout: how many failures each scope allows and how long a lock lasts."""

import pytest

from tessera_identity.domain.lockout import Decision, LockoutPolicy, Scope, ThrottleState, decide

DEFAULT = LockoutPolicy()


def test_one_account_from_one_ip_is_limited_to_five_failures() -> None:
    assert DEFAULT.limit(Scope.ACCOUNT_IP) == 5


def test_one_account_from_anywhere_is_limited_to_twenty_failures() -> None:
    assert DEFAULT.limit(Scope.ACCOUNT) == 20


def test_the_ip_scope_locks_sooner_than_the_account_scope() -> None:
    assert DEFAULT.limit(Scope.ACCOUNT_IP) < DEFAULT.limit(Scope.ACCOUNT)


@pytest.mark.parametrize(
    ("locks_so_far", "seconds"),
    [(0, 60), (1, 300), (2, 1500), (3, 3600), (4, 3600), (10, 3600)],
)
def test_ip_scope_locks_grow_sixty_three_hundred_fifteen_hundred_then_cap(
    locks_so_far: int, seconds: int
) -> None:
    assert DEFAULT.lock_duration(Scope.ACCOUNT_IP, locks_so_far) == seconds


@pytest.mark.parametrize(
    ("locks_so_far", "seconds"),
    [(0, 300), (1, 1500), (2, 3600), (3, 3600)],
)
def test_the_account_scope_starts_one_step_higher(locks_so_far: int, seconds: int) -> None:
    assert DEFAULT.lock_duration(Scope.ACCOUNT, locks_so_far) == seconds


def test_the_account_scope_is_the_ip_scope_one_lock_later() -> None:
    for locks in range(10):
        assert DEFAULT.lock_duration(Scope.ACCOUNT, locks) == DEFAULT.lock_duration(
            Scope.ACCOUNT_IP, locks + 1
        )


@pytest.mark.parametrize("scope", list(Scope))
def test_lock_durations_never_shrink_and_never_pass_the_maximum(scope: Scope) -> None:
    durations = [DEFAULT.lock_duration(scope, locks) for locks in range(50)]
    assert durations == sorted(durations)
    assert max(durations) == DEFAULT.max_s
    assert all(isinstance(d, int) for d in durations)


def test_a_very_long_lock_history_still_gives_the_maximum() -> None:
    assert DEFAULT.lock_duration(Scope.ACCOUNT_IP, 10_000) == DEFAULT.max_s


def test_a_custom_policy_sets_its_own_limits() -> None:
    policy = LockoutPolicy(ip_failures=3, account_failures=10)
    assert policy.limit(Scope.ACCOUNT_IP) == 3
    assert policy.limit(Scope.ACCOUNT) == 10


def test_a_custom_policy_sets_its_own_base_and_cap() -> None:
    policy = LockoutPolicy(base_s=10, max_s=100)
    assert [policy.lock_duration(Scope.ACCOUNT_IP, n) for n in range(4)] == [10, 50, 100, 100]
    assert [policy.lock_duration(Scope.ACCOUNT, n) for n in range(3)] == [50, 100, 100]


def test_a_cap_below_the_base_wins() -> None:
    policy = LockoutPolicy(base_s=60, max_s=30)
    assert policy.lock_duration(Scope.ACCOUNT_IP, 0) == 30


def state(failures: int = 0, in_flight: int = 0, locked_for_s: int = 0) -> ThrottleState:
    return ThrottleState(failures=failures, in_flight=in_flight, locked_for_s=locked_for_s)


def test_attempts_in_flight_alone_never_lock_they_make_the_next_one_wait() -> None:
    assert decide(DEFAULT, Scope.ACCOUNT_IP, state(in_flight=4)) is Decision.ALLOW
    assert decide(DEFAULT, Scope.ACCOUNT_IP, state(in_flight=5)) is Decision.BUSY
    assert decide(DEFAULT, Scope.ACCOUNT_IP, state(in_flight=50)) is Decision.BUSY


def test_failures_and_attempts_in_flight_share_the_limit() -> None:
    assert decide(DEFAULT, Scope.ACCOUNT_IP, state(failures=3, in_flight=1)) is Decision.ALLOW
    assert decide(DEFAULT, Scope.ACCOUNT_IP, state(failures=3, in_flight=2)) is Decision.BUSY
    assert decide(DEFAULT, Scope.ACCOUNT, state(failures=15, in_flight=4)) is Decision.ALLOW
    assert decide(DEFAULT, Scope.ACCOUNT, state(failures=15, in_flight=5)) is Decision.BUSY


def test_only_counted_failures_reaching_the_limit_lock() -> None:
    assert decide(DEFAULT, Scope.ACCOUNT_IP, state(failures=5)) is Decision.LOCK
    assert decide(DEFAULT, Scope.ACCOUNT_IP, state(failures=5, in_flight=3)) is Decision.LOCK
    assert decide(DEFAULT, Scope.ACCOUNT, state(failures=19, in_flight=9)) is Decision.BUSY
    assert decide(DEFAULT, Scope.ACCOUNT, state(failures=20)) is Decision.LOCK


def test_a_lock_in_force_refuses_whatever_the_counts() -> None:
    assert decide(DEFAULT, Scope.ACCOUNT_IP, state(locked_for_s=1)) is Decision.LOCKED
    assert decide(DEFAULT, Scope.ACCOUNT, state(failures=0, locked_for_s=30)) is Decision.LOCKED
