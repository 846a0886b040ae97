"""What a controller reads from the request besides the body: the client IP."""

import ipaddress

from litestar import Request
from litestar.datastructures import State


def client_ip(request: Request[object, object, State]) -> str:
    """The caller's address: the gateway sets X-Forwarded-For; direct calls use the peer.

    Only a well-formed IP address is kept (anything else becomes ""), so a forged header can
    neither break storage nor spread one client over many rate-limit keys of arbitrary text.
    """
    forwarded = request.headers.get("x-forwarded-for", "")
    candidate = forwarded.split(",", 1)[0].strip() or (
        request.client.host if request.client else ""
    )
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return ""
