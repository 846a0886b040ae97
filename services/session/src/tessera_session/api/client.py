"""Reading the caller: device and app headers, client IP, user agent, bearer token."""

import re

from litestar import Request
from litestar.datastructures import State

from tessera_session.service import Client
from tessera_shared.errors import TesseraError
from tessera_shared.http.internal import client_ip

_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# App ids name the cookie, so only characters a cookie name keeps as they are.
_APP = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
AnyRequest = Request[object, object, State]


def client_of(request: AnyRequest, default_app: str, *, device_required: bool = True) -> Client:
    device = request.headers.get("x-device-id", "").strip()
    if device_required and not _ID.fullmatch(device):
        raise TesseraError("device_id_required")
    app = request.headers.get("x-app-id", "").strip() or default_app
    if not _APP.fullmatch(app):
        raise TesseraError("app_id_invalid")
    return Client(
        device_id=device,
        app_id=app,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", "")[:256],
    )


def bearer(request: AnyRequest) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TesseraError("unauthorized", headers={"www-authenticate": "Bearer"})
    return token.strip()


def cookie_name(base: str, app_id: str) -> str:
    """One cookie per application: `tessera_rt_web-app` for X-App-ID web-app."""
    return f"{base}_{app_id}"
