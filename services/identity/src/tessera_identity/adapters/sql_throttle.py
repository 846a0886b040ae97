"""Failed-password counters, attempts in flight and the audit trail, in PostgreSQL.

An attempt is reserved *before* its password is checked, in its own committed transaction: the
row lock makes parallel attempts take slots one by one, so at most the limit are ever checked.
It is settled after the check: `failed` counts it, `clear` (success) and `unreserve` (not
checked, e.g. no hashing thread was free) only free its slot. Rules: `domain/lockout.py`.
"""

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from tessera_identity.domain.lockout import (
    Decision,
    LockoutPolicy,
    Reservation,
    Scope,
    ThrottleState,
    decide,
)
from tessera_shared.context import request_id_var

# The row locked for this transaction, and its counters as they stand now.
_STATE = """
INSERT INTO login_throttle AS t (scope, subject, ip) VALUES (%(scope)s, %(subject)s, %(ip)s)
ON CONFLICT (scope, subject, ip) DO UPDATE SET updated_at = now()
RETURNING
    CASE WHEN t.window_started_at < now() - make_interval(secs => %(window)s)
         THEN 0 ELSE t.failures END,
    CASE WHEN t.in_flight_until IS NULL OR t.in_flight_until <= now() THEN 0 ELSE t.in_flight END,
    COALESCE(GREATEST(0, ceil(extract(epoch FROM t.locked_until - now())))::int, 0),
    t.lock_count
"""

# Reservations older than `in_flight_until` were abandoned: they count as none.
_TAKE_SLOT = """
UPDATE login_throttle SET
    in_flight = CASE WHEN in_flight_until IS NULL OR in_flight_until <= now()
                     THEN 1 ELSE in_flight + 1 END,
    in_flight_until = now() + make_interval(secs => %(ttl)s), updated_at = now()
WHERE scope = %(scope)s AND subject = %(subject)s AND ip = %(ip)s
"""

_LOCK = """
UPDATE login_throttle SET locked_until = now() + make_interval(secs => %(seconds)s),
    lock_count = lock_count + 1, failures = 0, window_started_at = now()
WHERE scope = %(scope)s AND subject = %(subject)s AND ip = %(ip)s
"""

_FAILED = """
UPDATE login_throttle SET
    in_flight = CASE WHEN in_flight_until IS NULL OR in_flight_until <= now()
                     THEN 0 ELSE GREATEST(0, in_flight - 1) END,
    failures = CASE WHEN window_started_at < now() - make_interval(secs => %(window)s)
                    THEN 1 ELSE failures + 1 END,
    window_started_at = CASE WHEN window_started_at < now() - make_interval(secs => %(window)s)
                             THEN now() ELSE window_started_at END,
    updated_at = now()
WHERE scope = %(scope)s AND subject = %(subject)s AND ip = %(ip)s
"""

# A successful sign-in also ends the escalation: the next lock starts short again.
_SUCCEEDED = """
UPDATE login_throttle SET
    in_flight = CASE WHEN in_flight_until IS NULL OR in_flight_until <= now()
                     THEN 0 ELSE GREATEST(0, in_flight - 1) END,
    failures = 0, lock_count = 0, updated_at = now()
WHERE scope = %(scope)s AND subject = %(subject)s AND ip = %(ip)s
"""

_UNRESERVE = """
UPDATE login_throttle SET
    in_flight = CASE WHEN in_flight_until IS NULL OR in_flight_until <= now()
                     THEN 0 ELSE GREATEST(0, in_flight - 1) END,
    updated_at = now()
WHERE scope = %(scope)s AND subject = %(subject)s AND ip = %(ip)s
"""


class SqlThrottle:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def reserve(
        self, scope: Scope, subject: str, ip: str, policy: LockoutPolicy
    ) -> Reservation:
        key = {"scope": scope.value, "subject": subject, "ip": ip, "window": policy.window_s}
        row = await (await self._conn.execute(_STATE, key)).fetchone()
        assert row is not None  # an upsert always answers its row
        state = ThrottleState(failures=int(row[0]), in_flight=int(row[1]), locked_for_s=int(row[2]))
        match decide(policy, scope, state):
            case Decision.LOCKED:
                return Reservation(False, retry_after_s=max(1, state.locked_for_s))
            case Decision.LOCK:
                seconds = policy.lock_duration(scope, int(row[3]))
                await self._conn.execute(_LOCK, {**key, "seconds": seconds})
                return Reservation(False, retry_after_s=seconds, newly_locked=True)
            case Decision.BUSY:
                return Reservation(False, retry_after_s=1, busy=True)
            case Decision.ALLOW:
                await self._conn.execute(_TAKE_SLOT, {**key, "ttl": policy.slot_ttl_s})
                return Reservation(True)

    async def failed(self, scope: Scope, subject: str, ip: str, policy: LockoutPolicy) -> None:
        key = {"scope": scope.value, "subject": subject, "ip": ip, "window": policy.window_s}
        await self._conn.execute(_FAILED, key)

    async def clear(self, scope: Scope, subject: str, ip: str) -> None:
        await self._conn.execute(_SUCCEEDED, {"scope": scope.value, "subject": subject, "ip": ip})

    async def unreserve(self, scope: Scope, subject: str, ip: str) -> None:
        await self._conn.execute(_UNRESERVE, {"scope": scope.value, "subject": subject, "ip": ip})

    async def release(self, subject: str) -> None:
        # A password reset proves the owner: locks and counts from every IP end with it.
        # Every scope named, so the primary key (scope, subject, ip) finds the rows.
        await self._conn.execute(
            "DELETE FROM login_throttle WHERE scope = ANY(%s) AND subject = %s",
            ([scope.value for scope in Scope], subject),
        )


class SqlAudit:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def record(
        self, event: str, user_id: UUID | None, subject: str, ip: str, actor: str = "user"
    ) -> None:
        await self._conn.execute(
            "INSERT INTO audit_events (event, user_id, subject, ip, actor, request_id)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (event, user_id, subject, ip, actor, (request_id_var.get() or "")[:128]),
        )
