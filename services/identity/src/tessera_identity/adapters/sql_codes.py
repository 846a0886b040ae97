"""One-time codes and the ledger of codes sent, in PostgreSQL."""

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row

from tessera_identity.domain.otp import OtpPurpose, StoredOtp
from tessera_identity.ports import NewOtp


class SqlOtps:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def add(self, otp: NewOtp) -> None:
        await self._conn.execute(
            "INSERT INTO otp_codes (id, user_id, purpose, channel, recipient, code_hash, key_id,"
            " max_attempts, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                otp.id,
                otp.user_id,
                otp.purpose.value,
                otp.channel,
                otp.recipient,
                otp.code_hash,
                otp.key_id,
                otp.max_attempts,
                otp.expires_at,
            ),
        )

    async def latest_for_update(
        self, user_id: UUID, purpose: OtpPurpose, recipient: str | None = None
    ) -> StoredOtp | None:
        """The newest code (older ones are dead), locked so parallel guesses count one by one;
        with `recipient`, the newest sent to that address."""
        async with self._conn.cursor(row_factory=class_row(StoredOtp)) as cur:
            await cur.execute(
                "SELECT id, code_hash, key_id, attempts, max_attempts, expires_at, consumed_at"
                " FROM otp_codes WHERE user_id = %s AND purpose = %s"
                " AND (%s::text IS NULL OR recipient = %s)"
                " ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
                (user_id, purpose.value, recipient, recipient),
            )
            return await cur.fetchone()

    async def channel_of(self, otp_id: UUID) -> str:
        cur = await self._conn.execute("SELECT channel FROM otp_codes WHERE id = %s", (otp_id,))
        row = await cur.fetchone()
        return str(row[0]) if row else ""

    async def spend_attempt(self, otp_id: UUID) -> None:
        await self._conn.execute(
            "UPDATE otp_codes SET attempts = attempts + 1 WHERE id = %s", (otp_id,)
        )

    async def consume(self, otp_id: UUID, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE otp_codes SET consumed_at = %s WHERE id = %s", (at, otp_id)
        )


class SqlCodeLedger:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def record(self, recipient: str, client_ip: str) -> None:
        await self._conn.execute(
            "INSERT INTO code_requests (recipient, client_ip) VALUES (%s, %s)",
            (recipient, client_ip),
        )

    async def last_to(self, recipient: str) -> datetime | None:
        cur = await self._conn.execute(
            "SELECT max(created_at) FROM code_requests WHERE recipient = %s", (recipient,)
        )
        row = await cur.fetchone()
        return row[0] if row else None

    async def count_to(self, recipient: str, since: datetime) -> int:
        cur = await self._conn.execute(
            "SELECT count(*) FROM code_requests WHERE recipient = %s AND created_at >= %s",
            (recipient, since),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def count_from(self, client_ip: str, since: datetime) -> int:
        cur = await self._conn.execute(
            "SELECT count(*) FROM code_requests WHERE client_ip = %s AND created_at >= %s",
            (client_ip, since),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0
