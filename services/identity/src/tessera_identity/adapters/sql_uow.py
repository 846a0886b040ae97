"""The unit of work: one pooled connection, one transaction, every repository on it."""

from types import TracebackType
from typing import Any, Self

from opentelemetry.trace import SpanKind, StatusCode
from psycopg import AsyncConnection

from tessera_identity.adapters.db_gate import DatabaseGate
from tessera_identity.adapters.sql_admin import SqlAccountRecords
from tessera_identity.adapters.sql_codes import SqlCodeLedger, SqlOtps
from tessera_identity.adapters.sql_outbox import SqlOutbox
from tessera_identity.adapters.sql_second_factors import (
    SqlRecoveryCodes,
    SqlSecondFactorGuesses,
    SqlTotpSecrets,
)
from tessera_identity.adapters.sql_throttle import SqlAudit, SqlThrottle
from tessera_identity.adapters.sql_users import SqlUsers
from tessera_shared.errors import Code, TesseraError
from tessera_shared.telemetry import tracer

_tracer = tracer("tessera.identity.db")


class SqlUnitOfWork:
    """Rolls back on exit whatever was not committed with `commit()` (cosmicpython's
    AbstractUnitOfWork): a flow that forgets to commit loses its writes, never half of them."""

    def __init__(self, pool: DatabaseGate) -> None:
        self._pool = pool
        self._conn: AsyncConnection[Any] | None = None

    async def __aenter__(self) -> Self:
        self._span = _tracer.start_span(
            "postgresql transaction",
            kind=SpanKind.CLIENT,
            attributes={"db.system.name": "postgresql"},
        )
        try:
            self._conn = await self._pool.getconn()
        except Exception as exc:  # PoolTimeout, or the server is known to be gone
            self._span.set_status(StatusCode.ERROR, "no connection")
            self._span.end()
            raise TesseraError(Code.SERVICE_UNAVAILABLE) from exc
        conn = self._conn
        self._committed = False
        self._users = SqlUsers(conn)
        self._otps = SqlOtps(conn)
        self._ledger = SqlCodeLedger(conn)
        self._outbox = SqlOutbox(conn)
        self._throttle = SqlThrottle(conn)
        self._audit = SqlAudit(conn)
        self._totp = SqlTotpSecrets(conn)
        self._recovery = SqlRecoveryCodes(conn)
        self._guesses = SqlSecondFactorGuesses(conn)
        self._accounts = SqlAccountRecords(conn)
        return self

    @property
    def users(self) -> SqlUsers:
        return self._users

    @property
    def otps(self) -> SqlOtps:
        return self._otps

    @property
    def ledger(self) -> SqlCodeLedger:
        return self._ledger

    @property
    def outbox(self) -> SqlOutbox:
        return self._outbox

    @property
    def throttle(self) -> SqlThrottle:
        return self._throttle

    @property
    def audit(self) -> SqlAudit:
        return self._audit

    @property
    def totp(self) -> SqlTotpSecrets:
        return self._totp

    @property
    def recovery(self) -> SqlRecoveryCodes:
        return self._recovery

    @property
    def guesses(self) -> SqlSecondFactorGuesses:
        return self._guesses

    @property
    def accounts(self) -> SqlAccountRecords:
        return self._accounts

    async def commit(self) -> None:
        if self._conn is None:
            raise RuntimeError("commit outside the unit of work's block")
        await self._conn.commit()
        self._committed = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.rollback()  # what came after the last commit(), if anything
        finally:
            await self._pool.putconn(conn)
            outcome = "commit" if self._committed else "rollback"
            self._span.set_attribute("db.outcome", outcome)
            self._span.end()
