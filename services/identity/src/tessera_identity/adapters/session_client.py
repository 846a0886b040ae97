"""The session service's internal API over pooled HTTP, with a short timeout.

Anything but a clear 200 (session down, slow, refusing our token, answering nonsense) is
`service_unavailable`: the caller cannot know whether the sessions ended, so it must not go on.
"""

import logging
from uuid import UUID

import aiohttp
import msgspec

from tessera_shared.contracts.internal import (
    INTERNAL_TOKEN_HEADER,
    SessionsRevocation,
    SessionsRevoked,
)
from tessera_shared.errors import Code, TesseraError
from tessera_shared.telemetry import trace_headers

log = logging.getLogger("tessera.identity.session")
_REVOKED = msgspec.json.Decoder(SessionsRevoked)
_ENCODER = msgspec.json.Encoder()


class SessionClient:
    def __init__(self, base_url: str, token: str, timeout_s: float) -> None:
        self._url = base_url.rstrip("/") + "/internal/v1/sessions/revoke"
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
    ) -> int:
        body = _ENCODER.encode(
            SessionsRevocation(
                user_id=user_id, keep_session=keep_session, credential_version=credential_version
            )
        )
        if self._client is None:  # made on first use, inside the running loop
            self._client = aiohttp.ClientSession(timeout=self._timeout)
        try:
            headers = {**self._headers, **trace_headers()}
            async with self._client.post(self._url, data=body, headers=headers) as answer:
                raw = await answer.read()
                if answer.status == 200:
                    return _REVOKED.decode(raw).revoked
                if answer.status == 401:  # our internal token was refused: misconfiguration
                    log.error("the session service refused the internal token (INTERNAL_TOKEN)")
                else:
                    log.warning("session revocation answered %s", answer.status)
        except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError) as exc:
            log.warning("session revocation failed: %s", type(exc).__name__)
        raise TesseraError(Code.SERVICE_UNAVAILABLE)
