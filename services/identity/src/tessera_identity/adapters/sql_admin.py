"""The admin API in PostgreSQL: accounts as a whole (in the unit of work), searches and the
audit trail (read outside any transaction)."""

import contextlib
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg import AsyncConnection, errors
from psycopg.rows import kwargs_row

from tessera_identity.adapters.db_gate import DatabaseGate
from tessera_identity.domain.admin import SearchTerm, UserCursor
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.ports import AuditEvent, CredentialTakenError, LockoutState, UserSummary
from tessera_shared.errors import Code, TesseraError

# Erasure, in this order inside one transaction. Rows without a reference to the user are
# found by what they hold: the code ledger by address, the outbox by the user id or an address
# inside its payload (the JSON event as bytes), sign-in counters by their keyed subjects.
_ERASE = (
    "DELETE FROM code_requests WHERE recipient = ANY(%(addresses)s)",
    "DELETE FROM outbox WHERE EXISTS (SELECT 1 FROM unnest(%(needles)s::bytea[]) n"
    " WHERE position(n IN payload) > 0)",
    "DELETE FROM login_throttle WHERE subject = ANY(%(subjects)s)",
    "UPDATE audit_events SET ip = '', subject = ''"
    " WHERE user_id = %(user_id)s OR subject = ANY(%(subjects)s)",
    "DELETE FROM users WHERE id = %(user_id)s",
)

_SEARCH = """
SELECT u.id, u.status, u.name, u.created_at, u.last_login_at,
  (SELECT c.value FROM credentials c WHERE c.user_id = u.id AND c.type = 'email'
    ORDER BY c.verified_at NULLS LAST, c.created_at LIMIT 1) AS email,
  (SELECT c.value FROM credentials c WHERE c.user_id = u.id AND c.type = 'phone'
    ORDER BY c.verified_at NULLS LAST, c.created_at LIMIT 1) AS phone
FROM users u
WHERE (%(user_id)s::uuid IS NULL OR u.id = %(user_id)s)
  AND (%(prefix)s::text IS NULL OR EXISTS (SELECT 1 FROM credentials c
       WHERE c.user_id = u.id AND c.value LIKE %(prefix)s || '%%'))
  AND (%(status)s::text IS NULL OR u.status = %(status)s)
  AND (%(after_at)s::timestamptz IS NULL OR (u.created_at, u.id) < (%(after_at)s, %(after_id)s))
ORDER BY u.created_at DESC, u.id DESC
LIMIT %(limit)s
"""

_AUDIT = """
SELECT id, at, event AS action, actor, user_id, ip, request_id FROM audit_events
WHERE (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s)
  AND (%(action)s::text IS NULL OR event = %(action)s)
  AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
  AND (%(before)s::bigint IS NULL OR id < %(before)s)
ORDER BY id DESC
LIMIT %(limit)s
"""


class SqlAccountRecords:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def set_status(self, user_id: UUID, status: AccountStatus) -> None:
        await self._conn.execute(
            "UPDATE users SET status = %s, updated_at = now() WHERE id = %s", (status, user_id)
        )

    async def new_credential_version(self, user_id: UUID) -> int:
        cur = await self._conn.execute(
            "UPDATE users SET credential_version = credential_version + 1 WHERE id = %s"
            " RETURNING credential_version",
            (user_id,),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def addresses(self, user_id: UUID) -> list[str]:
        cur = await self._conn.execute(
            "SELECT value FROM credentials WHERE user_id = %(u)s"
            " UNION SELECT recipient FROM otp_codes WHERE user_id = %(u)s",
            {"u": user_id},
        )
        return sorted(str(row[0]) for row in await cur.fetchall())

    async def erase(self, user_id: UUID, addresses: list[str], subjects: list[str]) -> None:
        needles = [str(user_id).encode(), *(a.encode() for a in addresses)]
        params = {
            "user_id": user_id,
            "addresses": addresses,
            "needles": needles,
            "subjects": subjects,
        }
        for statement in _ERASE:
            await self._conn.execute(statement, params)

    async def replace_address(
        self, user_id: UUID, kind: CredentialType, value: str, verified_at: datetime | None
    ) -> None:
        try:
            async with self._conn.transaction():
                await self._conn.execute(
                    "DELETE FROM credentials WHERE user_id = %s AND type = %s", (user_id, kind)
                )
                await self._conn.execute(
                    "INSERT INTO credentials"
                    " (id, user_id, type, value, verified_at, sign_in_unverified)"
                    " VALUES (gen_random_uuid(), %s, %s, %s, %s, %s)",
                    (user_id, kind, value, verified_at, verified_at is None),
                )
        except errors.UniqueViolation as exc:
            raise CredentialTakenError from exc


class SqlAdminReads:
    def __init__(self, pool: DatabaseGate) -> None:
        self._pool = pool

    async def search(
        self,
        term: SearchTerm,
        status: AccountStatus | None,
        limit: int,
        after: UserCursor | None,
    ) -> list[UserSummary]:
        params = {
            "user_id": term.user_id,
            "prefix": term.prefix,
            "status": status,
            "after_at": after.created_at if after else None,
            "after_id": after.id if after else None,
            "limit": limit,
        }
        rows = await self._rows(_SEARCH, params)
        return [msgspec.convert(row, UserSummary) for row in rows]

    async def lockout(self, subjects: list[str]) -> LockoutState:
        rows = await self._rows(
            "SELECT max(locked_until) AS locked_until,"
            " coalesce(max(failures) FILTER (WHERE scope = 'account'), 0) AS failures"
            " FROM login_throttle WHERE subject = ANY(%(subjects)s)",
            {"subjects": subjects},
        )
        return msgspec.convert(rows[0], LockoutState)

    async def recovery_codes_left(self, user_id: UUID) -> int:
        rows = await self._rows(
            "SELECT count(*) AS n FROM recovery_codes WHERE user_id = %(u)s AND used_at IS NULL",
            {"u": user_id},
        )
        return int(rows[0]["n"])

    async def audit(
        self,
        user_id: UUID | None,
        action: str | None,
        since: datetime | None,
        limit: int,
        before: int | None,
    ) -> list[AuditEvent]:
        params = {
            "user_id": user_id,
            "action": action,
            "since": since,
            "before": before,
            "limit": limit,
        }
        rows = await self._rows(_AUDIT, params)
        return [msgspec.convert(row, AuditEvent) for row in rows]

    async def _rows(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            conn = await self._pool.getconn()
        except Exception as exc:  # PoolTimeout, or the server is known to be gone
            raise TesseraError(Code.SERVICE_UNAVAILABLE) from exc
        try:
            async with conn.cursor(row_factory=kwargs_row(_columns)) as cur:
                await cur.execute(query, params)
                return await cur.fetchall()
        finally:
            with contextlib.suppress(Exception):  # a broken connection: the pool discards it
                await conn.rollback()
            await self._pool.putconn(conn)


def _columns(**row: Any) -> dict[str, Any]:
    return row
