"""The admin API over HTTP with the operator's key: the only module of the CLI that does I/O
on the network. Every call gives up after `timeout` seconds."""

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from tessera_identity.admin_cli.errors import CliError
from tessera_identity.admin_cli.text import cell

TIMEOUT_S = 10.0
Query = Mapping[str, str | int | None]


class UnreachableError(CliError):
    """No HTTP answer at all (refused, timed out, reset): `audit tail --follow` waits it out."""


class AdminClient:
    """Sends `Authorization: Bearer <key>` on every call; the key appears in no message."""

    def __init__(self, base_url: str, key: str, timeout: float = TIMEOUT_S) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise CliError(
                f"the admin URL must start with http:// or https://: {cell(base_url)}", exit_code=2
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._key = key

    def request(self, method: str, path: str, query: Query | None = None) -> tuple[int, Any]:
        """(status, parsed JSON body or None) for any HTTP answer; CliError when none came."""
        url = self.base_url + path
        params = {name: str(value) for name, value in (query or {}).items() if value is not None}
        if params:
            url += "?" + urlencode(params)
        headers = {"Accept": "application/json", "User-Agent": "tessera-admin"}
        request = Request(url, method=method, headers=headers)  # noqa: S310 (see __init__)
        # Unredirected: a redirect to another host must not carry the admin key along.
        request.add_unredirected_header("Authorization", f"Bearer {self._key}")
        try:
            with urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (as above)
                return response.status, _parse(response.read())
        except HTTPError as error:
            with error:
                return error.code, _parse(error.read())
        except URLError as error:
            raise self._unreachable(error.reason) from None
        except OSError as error:  # timeouts and resets while reading the answer
            raise self._unreachable(error) from None

    def _unreachable(self, reason: object) -> UnreachableError:
        if isinstance(reason, TimeoutError):
            return UnreachableError(f"no answer from {self.base_url} within {self.timeout:g} s")
        if isinstance(reason, ConnectionRefusedError):
            return UnreachableError(
                f"cannot connect to {self.base_url} (connection refused); is the gateway "
                "running there? Set TESSERA_ADMIN_URL or --url to its address"
            )
        return UnreachableError(f"cannot reach {self.base_url}: {cell(reason)}")


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def error_line(status: int, body: object) -> str:
    """`<message> (<code>, HTTP <status>)` from an error body, or what HTTP says of the status."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code")
        where = f"{cell(code)}, HTTP {status}" if isinstance(code, str) else f"HTTP {status}"
        return f"{cell(body['message'])} ({where})"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unexpected answer"
    return f"{phrase} (HTTP {status})"


def expect(answer: tuple[int, Any], *, body: bool = True) -> Any:
    """The body of a successful answer; an error answer (or a missing body) ends the command."""
    status, parsed = answer
    if status >= 400:
        raise CliError(error_line(status, parsed))
    if body and parsed is None:
        raise CliError(f"the admin API answered HTTP {status} without a JSON body")
    return parsed
