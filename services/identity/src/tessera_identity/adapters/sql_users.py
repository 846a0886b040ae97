"""Users and credentials in PostgreSQL."""

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from psycopg import AsyncConnection, errors
from psycopg.rows import BaseRowFactory, kwargs_row

from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.mfa import MfaMode
from tessera_identity.ports import Credential, CredentialTakenError, User

_USER = (
    "SELECT u.id, u.status, u.locale, u.password_hash, u.mfa_mode, u.name,"
    " u.credential_version FROM users u"
)


_T = TypeVar("_T")


def _struct_row(cls: type[_T]) -> BaseRowFactory[_T]:
    """Rows read like any msgspec input: text columns become the enums `cls` names."""
    return kwargs_row(lambda **columns: msgspec.convert(columns, cls))


class SqlUsers:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def lock_address(self, kind: str, value: str) -> None:
        # Serializes registrations of one address until the transaction ends.
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{kind}:{value}",)
        )

    async def get(self, user_id: UUID) -> User | None:
        async with self._conn.cursor(row_factory=_struct_row(User)) as cur:
            await cur.execute(f"{_USER} WHERE u.id = %s", (user_id,))
            return await cur.fetchone()

    async def credential(self, user_id: UUID, kind: CredentialType) -> Credential | None:
        async with self._conn.cursor(row_factory=_struct_row(Credential)) as cur:
            await cur.execute(
                "SELECT id, user_id, type, value, verified_at FROM credentials"
                " WHERE user_id = %s AND type = %s ORDER BY verified_at NULLS LAST LIMIT 1",
                (user_id, kind),
            )
            return await cur.fetchone()

    async def contact(self, user_id: UUID) -> Credential | None:
        """The verified address to send notices to: email first, then phone."""
        async with self._conn.cursor(row_factory=_struct_row(Credential)) as cur:
            await cur.execute(
                "SELECT id, user_id, type, value, verified_at FROM credentials"
                " WHERE user_id = %s AND verified_at IS NOT NULL"
                " ORDER BY (type = 'email') DESC, verified_at LIMIT 1",
                (user_id,),
            )
            return await cur.fetchone()

    async def verified_owner(self, kind: CredentialType, value: str) -> User | None:
        async with self._conn.cursor(row_factory=_struct_row(User)) as cur:
            await cur.execute(
                f"{_USER} JOIN credentials c ON c.user_id = u.id"
                " WHERE c.type = %s AND c.value = %s AND c.verified_at IS NOT NULL",
                (kind, value),
            )
            return await cur.fetchone()

    async def login_candidate(self, kind: CredentialType, value: str) -> User | None:
        """The account this username signs in to: the verified owner, else an /auth account
        whose address is not verified yet, else the newest pending registration."""
        async with self._conn.cursor(row_factory=_struct_row(User)) as cur:
            await cur.execute(
                f"{_USER} JOIN credentials c ON c.user_id = u.id"
                " WHERE c.type = %s AND c.value = %s"
                "   AND (c.verified_at IS NOT NULL OR c.sign_in_unverified"
                "        OR u.status = 'pending')"
                " ORDER BY c.verified_at IS NULL, NOT c.sign_in_unverified, u.created_at DESC"
                " LIMIT 1",
                (kind, value),
            )
            return await cur.fetchone()

    async def unverified_sign_in_owner(self, kind: CredentialType, value: str) -> User | None:
        """The /auth account signing in with this address before verifying it, if any."""
        async with self._conn.cursor(row_factory=_struct_row(User)) as cur:
            await cur.execute(
                f"{_USER} JOIN credentials c ON c.user_id = u.id"
                " WHERE c.type = %s AND c.value = %s AND c.verified_at IS NULL"
                "   AND c.sign_in_unverified",
                (kind, value),
            )
            return await cur.fetchone()

    async def add_active_unverified(self, user: User, credential: Credential) -> None:
        """An account active at once whose address signs in before it is verified (/auth)."""
        await self._conn.execute(
            "INSERT INTO users (id, status, locale, password_hash, password_changed_at)"
            " VALUES (%s, 'active', %s, %s, now())",
            (user.id, user.locale, user.password_hash),
        )
        await self._conn.execute(
            "INSERT INTO credentials (id, user_id, type, value, sign_in_unverified)"
            " VALUES (%s, %s, %s, %s, true)",
            (credential.id, credential.user_id, credential.type, credential.value),
        )

    async def delete_pending_with(self, kind: CredentialType, value: str) -> None:
        await self._conn.execute(
            "DELETE FROM users u USING credentials c"
            " WHERE c.user_id = u.id AND u.status = 'pending' AND c.type = %s AND c.value = %s",
            (kind, value),
        )

    async def add_pending(self, user: User, credential: Credential) -> None:
        await self._conn.execute(
            "INSERT INTO users (id, status, locale, password_hash, password_changed_at)"
            " VALUES (%s, 'pending', %s, %s, now())",
            (user.id, user.locale, user.password_hash),
        )
        await self._conn.execute(
            "INSERT INTO credentials (id, user_id, type, value) VALUES (%s, %s, %s, %s)",
            (credential.id, credential.user_id, credential.type, credential.value),
        )

    async def activate(self, user_id: UUID, credential_id: UUID, at: datetime) -> None:
        await self.verify_credential(credential_id, at)
        await self._conn.execute(
            "UPDATE users SET status = 'active', updated_at = %s WHERE id = %s", (at, user_id)
        )

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self._conn.execute(
            "UPDATE users SET password_hash = %s, updated_at = now() WHERE id = %s",
            (password_hash, user_id),
        )

    async def replace_password(self, user_id: UUID, password_hash: str, at: datetime) -> int:
        cur = await self._conn.execute(
            "UPDATE users SET password_hash = %s, password_changed_at = %s, updated_at = %s,"
            " credential_version = credential_version + 1 WHERE id = %s"
            " RETURNING credential_version",
            (password_hash, at, at, user_id),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def set_profile(self, user_id: UUID, name: str | None, locale: str) -> None:
        await self._conn.execute(
            "UPDATE users SET name = %s, locale = %s, updated_at = now() WHERE id = %s",
            (name, locale, user_id),
        )

    async def get_for_update(self, user_id: UUID) -> User | None:
        """The user, row-locked: changes of credentials and MFA of one user run one by one."""
        async with self._conn.cursor(row_factory=_struct_row(User)) as cur:
            await cur.execute(f"{_USER} WHERE u.id = %s FOR UPDATE", (user_id,))
            return await cur.fetchone()

    async def credentials_of(self, user_id: UUID) -> list[Credential]:
        async with self._conn.cursor(row_factory=_struct_row(Credential)) as cur:
            await cur.execute(
                "SELECT id, user_id, type, value, verified_at, sign_in_unverified"
                " FROM credentials WHERE user_id = %s ORDER BY created_at",
                (user_id,),
            )
            return await cur.fetchall()

    async def add_credential(self, credential: Credential) -> None:
        await self._conn.execute(
            "INSERT INTO credentials (id, user_id, type, value) VALUES (%s, %s, %s, %s)",
            (credential.id, credential.user_id, credential.type, credential.value),
        )

    async def delete_unverified(self, user_id: UUID, kind: CredentialType) -> None:
        await self._conn.execute(
            "DELETE FROM credentials WHERE user_id = %s AND type = %s AND verified_at IS NULL"
            " AND NOT sign_in_unverified",
            (user_id, kind),
        )

    async def delete_credential(self, credential_id: UUID) -> None:
        await self._conn.execute("DELETE FROM credentials WHERE id = %s", (credential_id,))

    async def verify_credential(self, credential_id: UUID, at: datetime) -> None:
        try:
            async with self._conn.transaction():
                await self._conn.execute(
                    "UPDATE credentials SET verified_at = %s WHERE id = %s", (at, credential_id)
                )
        except errors.UniqueViolation as exc:
            raise CredentialTakenError from exc

    async def set_mfa_mode(self, user_id: UUID, mode: MfaMode) -> None:
        await self._conn.execute(
            "UPDATE users SET mfa_mode = %s, updated_at = now() WHERE id = %s", (mode, user_id)
        )

    async def record_login(self, user_id: UUID, at: datetime, device: str = "") -> None:
        await self._conn.execute(
            "UPDATE users SET last_login_at = %s, last_login_device = %s WHERE id = %s",
            (at, device[:256], user_id),
        )
