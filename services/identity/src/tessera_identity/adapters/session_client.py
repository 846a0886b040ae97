"""The session service's internal API over pooled HTTP, with a short timeout: revocation, and
the session list of the admin API.

Anything but a clear 200 (session down, slow, refusing our token, answering nonsense) is
`service_unavailable`: the caller cannot know whether the sessions ended, so it must not go on.
"""

import logging
from typing import TypeVar
from uuid import UUID

import aiohttp
import msgspec

from tessera_shared.contracts.internal import (
    INTERNAL_TOKEN_HEADER,
    SessionRecord,
    SessionsFound,
    SessionsQuery,
    SessionsRevocation,
    SessionsRevoked,
)
from tessera_shared.errors import Code, TesseraError
from tessera_shared.telemetry import trace_headers

log = logging.getLogger("tessera.identity.session")
_T = TypeVar("_T")
_REVOKED = msgspec.json.Decoder(SessionsRevoked)
_FOUND = msgspec.json.Decoder(SessionsFound)
_ENCODER = msgspec.json.Encoder()


class SessionClient:
    def __init__(self, base_url: str, token: str, timeout_s: float) -> None:
        self._url = base_url.rstrip("/") + "/internal/v1/sessions/revoke"
        self._list_url = base_url.rstrip("/") + "/internal/v1/sessions/list"
        self._headers = {INTERNAL_TOKEN_HEADER: token, "content-type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._client: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def revoke(
        self,
        user_id: UUID,
        *,
        keep_session: str | None = None,
        credential_version: int | None = None,
        purge: bool = False,
    ) -> int:
        body = SessionsRevocation(
            user_id=user_id,
            keep_session=keep_session,
            credential_version=credential_version,
            purge=purge,
        )
        return (await self._post(self._url, body, _REVOKED, "revocation")).revoked

    async def sessions(self, user_id: UUID) -> list[SessionRecord]:
        query = SessionsQuery(user_id=user_id)
        return (await self._post(self._list_url, query, _FOUND, "session list")).sessions

    async def _post(
        self, url: str, body: msgspec.Struct, decoder: msgspec.json.Decoder[_T], what: str
    ) -> _T:
        """The 200 answer, decoded; `service_unavailable` for anything else."""
        if self._client is None:  # made on first use, inside the running loop
            self._client = aiohttp.ClientSession(timeout=self._timeout)
        try:
            headers = {**self._headers, **trace_headers()}
            data = _ENCODER.encode(body)
            async with self._client.post(url, data=data, headers=headers) as answer:
                raw = await answer.read()
                if answer.status == 200:
                    return decoder.decode(raw)
                if answer.status == 401:  # our internal token was refused: misconfiguration
                    log.error("the session service refused the internal token (INTERNAL_TOKEN)")
                else:
                    log.warning("session %s answered %s", what, answer.status)
        except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError) as exc:
            log.warning("session %s failed: %s", what, type(exc).__name__)
        raise TesseraError(Code.SERVICE_UNAVAILABLE)
