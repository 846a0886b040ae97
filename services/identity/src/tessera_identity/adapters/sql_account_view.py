"""A user's own account page read in one statement, outside any transaction.

`GET /v1/users/me` and the /auth status answers are the hottest reads: one round trip (the
user, their credentials as one JSON array, the app, by primary key and the credentials'
`(user_id, ...)` index), on a connection in autocommit so no BEGIN/ROLLBACK goes with it. A
ROLLBACK also drops psycopg's prepared statements; without one, this statement is prepared
once per connection and then only bound and run. One statement sees one snapshot, so the
parts agree with each other without locking anything.
"""

import contextlib
from typing import Any
from uuid import UUID

import msgspec
from opentelemetry.trace import SpanKind, StatusCode
from psycopg.rows import kwargs_row

from tessera_identity.adapters.db_gate import DatabaseGate
from tessera_identity.domain.mfa import MfaMode
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.ports import AccountView, Activity, Credential, StoredTotp, User
from tessera_shared.errors import Code, TesseraError
from tessera_shared.telemetry import tracer

_tracer = tracer("tessera.identity.db")

# Credentials in the order `SqlUsers.credentials_of` answers them (by creation).
_VIEW = (
    "SELECT u.id, u.status, u.locale, u.password_hash, u.mfa_mode, u.name,"
    " u.credential_version, u.created_at, u.last_login_at, u.last_login_device,"
    " u.password_changed_at, t.key_id, t.secret_sealed, t.confirmed_at, t.last_step,"
    " (SELECT json_agg(json_build_object('id', c.id, 'user_id', c.user_id, 'type', c.type,"
    "   'value', c.value, 'verified_at', c.verified_at,"
    "   'sign_in_unverified', c.sign_in_unverified) ORDER BY c.created_at)::text"
    "  FROM credentials c WHERE c.user_id = u.id) AS credentials"
    " FROM users u LEFT JOIN totp_secrets t ON t.user_id = u.id WHERE u.id = %s"
)

_credentials = msgspec.json.Decoder(list[Credential])


def _view(**row: Any) -> AccountView:
    user_id: UUID = row["id"]
    totp = None
    if row["key_id"] is not None:
        totp = StoredTotp(
            user_id=user_id,
            key_id=row["key_id"],
            secret_sealed=row["secret_sealed"],
            confirmed_at=row["confirmed_at"],
            last_step=row["last_step"],
        )
    listed = row["credentials"]
    return AccountView(
        user=User(
            id=user_id,
            status=AccountStatus(row["status"]),
            locale=row["locale"],
            password_hash=row["password_hash"],
            mfa_mode=MfaMode(row["mfa_mode"]),
            name=row["name"],
            credential_version=row["credential_version"],
        ),
        credentials=_credentials.decode(listed) if listed is not None else [],
        totp=totp,
        activity=Activity(
            created_at=row["created_at"],
            last_login_at=row["last_login_at"],
            last_login_device=row["last_login_device"],
            password_changed_at=row["password_changed_at"],
        ),
    )


class SqlAccountViews:
    def __init__(self, gate: DatabaseGate) -> None:
        self._gate = gate

    async def get(self, user_id: UUID) -> AccountView | None:
        with _tracer.start_as_current_span(
            "postgresql query",
            kind=SpanKind.CLIENT,
            attributes={"db.system.name": "postgresql"},
        ) as span:
            try:
                conn = await self._gate.getconn()
            except Exception as exc:  # PoolTimeout, or the server is known to be gone
                span.set_status(StatusCode.ERROR, "no connection")
                raise TesseraError(Code.SERVICE_UNAVAILABLE) from exc
            try:
                await conn.set_autocommit(True)
                async with conn.cursor(row_factory=kwargs_row(_view)) as cur:
                    await cur.execute(_VIEW, (user_id,))
                    return await cur.fetchone()
            finally:
                # Fails only when the connection is broken or still busy (a cancelled
                # request); the pool then discards it instead of handing it out again.
                with contextlib.suppress(Exception):
                    await conn.set_autocommit(False)
                await self._gate.putconn(conn)
