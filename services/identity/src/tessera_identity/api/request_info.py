"""What a controller reads from the request besides the body: client IP and language."""

from litestar import Request
from litestar.datastructures import State


def client_ip(request: Request[object, object, State]) -> str:
    """The caller's address: the gateway sets X-Forwarded-For; direct calls use the peer."""
    forwarded = request.headers.get("x-forwarded-for", "")
    first = forwarded.split(",", 1)[0].strip()
    if first:
        return first[:64]
    return request.client.host if request.client else ""
