"""Lockout, registration and password-reset counters for Prometheus (`GET /metrics`).

Counted by the flows once their unit of work has committed, so a rolled-back change is never
counted; every label has a small fixed set of values.
"""

from typing import Literal, get_args

from prometheus_client import Counter

from tessera_identity.domain.lockout import Scope

LockedFlow = Literal["login", "password_change"]
Surface = Literal["v1", "auth"]

LOCKOUTS = Counter(
    "tessera_lockouts",
    "Locks newly set after too many wrong passwords, by lockout scope and flow",
    ["scope", "flow"],
)
REGISTRATIONS = Counter(
    "tessera_registrations",
    "New accounts: pending (v1, until the code is entered) or active at once (auth)",
    ["surface"],
)
PASSWORD_RESETS = Counter(
    "tessera_password_resets",
    "Passwords replaced with a reset code",
)

# Every series exists from the start, so rates and alerts work before the first event.
for _scope in Scope:
    for _flow in get_args(LockedFlow):
        LOCKOUTS.labels(_scope.value, _flow)
for _surface in get_args(Surface):
    REGISTRATIONS.labels(_surface)
