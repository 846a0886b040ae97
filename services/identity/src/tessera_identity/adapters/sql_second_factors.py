"""TOTP secrets (sealed), recovery codes (hashed) and wrong-code counts in PostgreSQL."""

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row

from tessera_identity.domain.guesses import Guesses
from tessera_identity.ports import StoredTotp


class SqlTotpSecrets:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def get_for_update(self, user_id: UUID) -> StoredTotp | None:
        """Locked, so two codes checked at once cannot both claim the same step."""
        async with self._conn.cursor(row_factory=class_row(StoredTotp)) as cur:
            await cur.execute(
                "SELECT user_id, key_id, secret_sealed, confirmed_at, last_step"
                " FROM totp_secrets WHERE user_id = %s FOR UPDATE",
                (user_id,),
            )
            return await cur.fetchone()

    async def put_pending(self, user_id: UUID, key_id: str, sealed: bytes) -> None:
        await self._conn.execute(
            "INSERT INTO totp_secrets (user_id, key_id, secret_sealed) VALUES (%s, %s, %s)"
            " ON CONFLICT (user_id) DO UPDATE SET key_id = excluded.key_id,"
            " secret_sealed = excluded.secret_sealed, confirmed_at = NULL, last_step = 0,"
            " created_at = now()",
            (user_id, key_id, sealed),
        )

    async def confirm(self, user_id: UUID, at: datetime, step: int) -> None:
        await self._conn.execute(
            "UPDATE totp_secrets SET confirmed_at = %s, last_step = %s WHERE user_id = %s",
            (at, step, user_id),
        )

    async def use_step(self, user_id: UUID, step: int) -> None:
        await self._conn.execute(
            "UPDATE totp_secrets SET last_step = %s WHERE user_id = %s", (step, user_id)
        )

    async def delete(self, user_id: UUID) -> None:
        await self._conn.execute("DELETE FROM totp_secrets WHERE user_id = %s", (user_id,))


class SqlRecoveryCodes:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def replace(self, user_id: UUID, digests: list[bytes]) -> None:
        await self._conn.execute("DELETE FROM recovery_codes WHERE user_id = %s", (user_id,))
        async with self._conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES (%s, %s)",
                [(user_id, d) for d in digests],
            )

    async def use(self, user_id: UUID, digest: bytes, at: datetime) -> bool:
        cur = await self._conn.execute(
            "UPDATE recovery_codes SET used_at = %s"
            " WHERE user_id = %s AND code_hash = %s AND used_at IS NULL",
            (at, user_id, digest),
        )
        return cur.rowcount == 1

    async def exist(self, user_id: UUID) -> bool:
        cur = await self._conn.execute(
            "SELECT EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = %s)", (user_id,)
        )
        row = await cur.fetchone()
        return bool(row and row[0])


class SqlSecondFactorGuesses:
    """Wrong second-factor codes per account (`domain/guesses.py`)."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def lock(self, user_id: UUID, now: datetime) -> Guesses:
        """The account's count, its row locked until the transaction ends (parallel codes of
        one account are counted one after the other); a new row counts none."""
        cur = await self._conn.execute(
            "INSERT INTO second_factor_throttle (user_id, failures, window_started_at)"
            " VALUES (%s, 0, %s) ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id"
            " RETURNING failures, window_started_at",
            (user_id, now),
        )
        row = await cur.fetchone()
        assert row is not None  # an upsert always answers its row
        return Guesses(failures=int(row[0]), window_started_at=row[1])

    async def save(self, user_id: UUID, guesses: Guesses) -> None:
        await self._conn.execute(
            "UPDATE second_factor_throttle SET failures = %s, window_started_at = %s"
            " WHERE user_id = %s",
            (guesses.failures, guesses.window_started_at, user_id),
        )

    async def clear(self, user_id: UUID) -> None:
        await self._conn.execute(
            "DELETE FROM second_factor_throttle WHERE user_id = %s", (user_id,)
        )
