"""Registration: a pending account becomes active when its first credential is verified. Pure."""

import enum


class AccountStatus(enum.StrEnum):
    """pending → active (verify-registration) → disabled (operators)."""

    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


TRANSITIONS: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.PENDING: frozenset({AccountStatus.ACTIVE}),
    AccountStatus.ACTIVE: frozenset({AccountStatus.DISABLED}),
    AccountStatus.DISABLED: frozenset({AccountStatus.ACTIVE}),
}


def can_become(current: AccountStatus, target: AccountStatus) -> bool:
    return target in TRANSITIONS[current]
