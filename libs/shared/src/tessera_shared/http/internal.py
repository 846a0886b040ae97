"""What internal endpoints and controllers share: the caller guard, client IP, state lookup."""

import hmac
import ipaddress
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler

from tessera_shared.contracts.internal import INTERNAL_TOKEN_HEADER
from tessera_shared.errors import Code, TesseraError


def internal_caller(connection: ASGIConnection[Any, Any, Any, State], _: BaseRouteHandler) -> None:
    """Guard of `/internal/` routes: `X-Internal-Token` equal to `app.state.internal_token`,
    compared in constant time."""
    expected: str = connection.app.state.internal_token
    given = connection.headers.get(INTERNAL_TOKEN_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise TesseraError(Code.UNAUTHORIZED)


def client_ip(request: Request[Any, Any, State]) -> str:
    """The caller's address: the gateway sets X-Forwarded-For; direct calls use the peer.

    Only a well-formed IP address is kept (anything else becomes ""), so a forged header can
    neither break storage nor spread one client over many rate-limit keys of arbitrary text.
    """
    forwarded = request.headers.get("x-forwarded-for", "").split(",", 1)[0].strip()
    candidate = forwarded or (request.client.host if request.client else "")
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return ""


def from_state(name: str) -> Provide:
    """A dependency handing controllers what the lifespan put in `app.state[name]`."""

    def provide(state: State) -> Any:
        return state[name]

    return Provide(provide, sync_to_thread=False)
