"""Account status transitions: pending → active → disabled, and back to active."""

import itertools

import pytest

from tessera_identity.domain.registration import TRANSITIONS, AccountStatus, can_become

ALLOWED = {
    (AccountStatus.PENDING, AccountStatus.ACTIVE),
    (AccountStatus.ACTIVE, AccountStatus.DISABLED),
    (AccountStatus.DISABLED, AccountStatus.ACTIVE),
}


def test_a_pending_account_becomes_active_when_verified() -> None:
    assert can_become(AccountStatus.PENDING, AccountStatus.ACTIVE)


def test_a_pending_account_cannot_be_disabled() -> None:
    assert not can_become(AccountStatus.PENDING, AccountStatus.DISABLED)


def test_an_active_account_can_be_disabled() -> None:
    assert can_become(AccountStatus.ACTIVE, AccountStatus.DISABLED)


def test_an_active_account_never_goes_back_to_pending() -> None:
    assert not can_become(AccountStatus.ACTIVE, AccountStatus.PENDING)


def test_a_disabled_account_can_be_reactivated() -> None:
    assert can_become(AccountStatus.DISABLED, AccountStatus.ACTIVE)


def test_a_disabled_account_never_goes_back_to_pending() -> None:
    assert not can_become(AccountStatus.DISABLED, AccountStatus.PENDING)


@pytest.mark.parametrize("status", list(AccountStatus))
def test_no_status_transitions_to_itself(status: AccountStatus) -> None:
    assert not can_become(status, status)


def test_every_status_has_a_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(AccountStatus)


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(AccountStatus, AccountStatus))
)
def test_exactly_the_listed_transitions_are_allowed(
    current: AccountStatus, target: AccountStatus
) -> None:
    assert can_become(current, target) is ((current, target) in ALLOWED)


def test_pending_is_only_ever_a_starting_status() -> None:
    assert all(AccountStatus.PENDING not in targets for targets in TRANSITIONS.values())
