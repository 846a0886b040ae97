"""Writes events to the outbox table, in the caller's transaction, and wakes the relay."""

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

CHANNEL = "tessera_outbox"


class SqlOutbox:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def add(
        self,
        event_id: UUID,
        subject: str,
        payload: bytes,
        headers: dict[str, str],
        *,
        erase_on_publish: bool = False,
    ) -> None:
        await self._conn.execute(
            "INSERT INTO outbox (id, subject, payload, headers, erase_on_publish)"
            " VALUES (%s, %s, %s, %s, %s)",
            (event_id, subject, payload, Jsonb(headers), erase_on_publish),
        )
        # Delivered only when the transaction commits: the relay never sees uncommitted rows.
        await self._conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
