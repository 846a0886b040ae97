"""Identity's internal API over pooled HTTP, with a short timeout; identity down → 503."""

import logging
from typing import Any, TypeVar

import aiohttp
import msgspec

from tessera_shared.contracts.internal import (
    INTERNAL_TOKEN_HEADER,
    Account,
    CodeAccepted,
    CodeCheck,
    CodeRequest,
    CodeSent,
    PasswordCheck,
    RecoveryCodeUse,
    TotpCheck,
)
from tessera_shared.errors import ERRORS, Code, TesseraError
from tessera_shared.telemetry import trace_headers

T = TypeVar("T")
log = logging.getLogger("tessera.session.identity")
_PASSED_ON = ("retry-after",)


class IdentityClient:
    def __init__(self, base_url: str, token: str, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {INTERNAL_TOKEN_HEADER: token, "content-type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._client: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def verify_password(self, check: PasswordCheck) -> Account:
        return await self._post("/internal/v1/password/verify", check, Account)

    async def send_code(self, request: CodeRequest) -> CodeSent:
        return await self._post("/internal/v1/codes/send", request, CodeSent)

    async def verify_code(self, check: CodeCheck) -> CodeAccepted:
        return await self._post("/internal/v1/codes/verify", check, CodeAccepted)

    async def verify_totp(self, check: TotpCheck) -> CodeAccepted:
        return await self._post("/internal/v1/totp/verify", check, CodeAccepted)

    async def use_recovery_code(self, use: RecoveryCodeUse) -> CodeAccepted:
        """Spends the code in identity (single use); a refusal is 400 recovery_code_invalid."""
        return await self._post("/internal/v1/recovery-codes/use", use, CodeAccepted)

    async def _post(self, path: str, body: msgspec.Struct, answer: type[T]) -> T:
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._client.post(
                self._base + path,
                data=msgspec.json.encode(body),
                headers={**self._headers, **trace_headers()},
            ) as response:
                raw = await response.read()
                if response.status == 200:
                    return msgspec.json.decode(raw, type=answer)
                error = _error(raw)
                if error == Code.UNAUTHORIZED:  # our internal token was refused: misconfiguration
                    log.error("identity refused the internal token (check INTERNAL_TOKEN)")
                elif 400 <= response.status < 500 and error in ERRORS:
                    headers = {h: response.headers[h] for h in _PASSED_ON if h in response.headers}
                    raise TesseraError(Code(error), headers=headers)
        except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError):
            pass
        raise TesseraError(Code.SERVICE_UNAVAILABLE)


def _error(raw: bytes) -> str:
    try:
        body: dict[str, Any] = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return ""
    code = body.get("code")
    return code if isinstance(code, str) else ""
