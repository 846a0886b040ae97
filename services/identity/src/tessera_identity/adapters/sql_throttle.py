"""Failed-password counters and the audit trail, in PostgreSQL.

An attempt is counted *before* its password is checked, in its own committed transaction: the
row lock makes parallel attempts take numbers one by one, so at most the limit are ever checked.
"""

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from tessera_identity.domain.lockout import LockoutPolicy, Reservation, Scope

_COUNT = """
INSERT INTO login_throttle AS t (scope, subject, ip, failures, window_started_at, updated_at)
VALUES (%(scope)s, %(subject)s, %(ip)s, 1, now(), now())
ON CONFLICT (scope, subject, ip) DO UPDATE SET
    failures = CASE WHEN t.window_started_at < now() - make_interval(secs => %(window)s)
                    THEN 1 ELSE t.failures + 1 END,
    window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => %(window)s)
                             THEN now() ELSE t.window_started_at END,
    updated_at = now()
WHERE t.locked_until IS NULL OR t.locked_until <= now()
RETURNING failures, lock_count
"""

_LOCK = """
UPDATE login_throttle SET locked_until = now() + make_interval(secs => %(seconds)s),
    lock_count = lock_count + 1, failures = 0, window_started_at = now()
WHERE scope = %(scope)s AND subject = %(subject)s AND ip = %(ip)s
"""

_REMAINING = """
SELECT GREATEST(1, ceil(extract(epoch FROM locked_until - now())))::int FROM login_throttle
WHERE scope = %(scope)s AND subject = %(subject)s AND ip = %(ip)s
"""


class SqlThrottle:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def reserve(
        self, scope: Scope, subject: str, ip: str, policy: LockoutPolicy
    ) -> Reservation:
        key = {"scope": scope.value, "subject": subject, "ip": ip, "window": policy.window_s}
        row = await (await self._conn.execute(_COUNT, key)).fetchone()
        if row is None:  # locked right now
            remaining = await (await self._conn.execute(_REMAINING, key)).fetchone()
            return Reservation(False, retry_after_s=int(remaining[0]) if remaining else 1)
        failures, lock_count = int(row[0]), int(row[1])
        if failures <= policy.limit(scope):
            return Reservation(True)
        seconds = policy.lock_duration(scope, lock_count)
        await self._conn.execute(_LOCK, {**key, "seconds": seconds})
        return Reservation(False, retry_after_s=seconds, newly_locked=True)

    async def clear(self, scope: Scope, subject: str, ip: str) -> None:
        await self._conn.execute(
            # A successful sign-in also ends the escalation: the next lock starts short again.
            "UPDATE login_throttle SET failures = 0, lock_count = 0"
            " WHERE scope = %s AND subject = %s AND ip = %s",
            (scope.value, subject, ip),
        )

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

    async def record(self, event: str, user_id: UUID | None, subject: str, ip: str) -> None:
        await self._conn.execute(
            "INSERT INTO auth_audit (event, user_id, subject, ip) VALUES (%s, %s, %s, %s)",
            (event, user_id, subject, ip),
        )
