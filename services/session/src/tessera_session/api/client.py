"""Reading the caller: device and app headers, client IP, user agent, bearer token."""

import re
import secrets
from typing import Literal

from tessera_session.domain.client import Client
from tessera_shared.errors import Code, TesseraError
from tessera_shared.http.internal import client_ip
from tessera_shared.http.request import AnyRequest

_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# App ids name the cookie, so only characters a cookie name keeps as they are.
_APP = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ASSIGNED_DEVICE_PREFIX = "auto-"

NoDevice = Literal["refuse", "unnamed", "assign"]
"""What a request without X-Device-ID means: `refuse` it (400 device_id_required, the /v1
routes); an `unnamed` device ("": the family's or the challenge's own is used); or `assign` a
fresh random one (a native /auth login: its own family, never replacing another device's)."""


def client_of(request: AnyRequest, default_app: str, *, no_device: NoDevice = "refuse") -> Client:
    """The caller; an X-Device-ID or X-App-ID that is sent must be valid, whatever `no_device`."""
    device = request.headers.get("x-device-id", "").strip()
    if not device and no_device == "assign":
        device = assigned_device()
    elif (device or no_device == "refuse") and not _ID.fullmatch(device):
        raise TesseraError(Code.DEVICE_ID_REQUIRED)
    app = request.headers.get("x-app-id", "").strip() or default_app
    if not _APP.fullmatch(app):
        raise TesseraError(Code.APP_ID_INVALID)
    return Client(
        device_id=device,
        app_id=app,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", "")[:256],
    )


def assigned_device() -> str:
    """A device id for a login that named none: `auto-` and 128 random bits in hex."""
    return ASSIGNED_DEVICE_PREFIX + secrets.token_hex(16)


def bearer(request: AnyRequest) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TesseraError(Code.UNAUTHORIZED, headers={"www-authenticate": "Bearer"})
    return token.strip()


def cookie_name(base: str, app_id: str) -> str:
    """One cookie per application: `tessera_rt_web-app` for X-App-ID web-app."""
    return f"{base}_{app_id}"
