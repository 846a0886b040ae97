"""Who is calling a use case: the device and app it names, and where the request came from."""

import msgspec


class Client(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the device and app headers, and where from."""

    device_id: str
    """X-Device-ID; "" when the caller named none, which only the /auth body routes allow for
    refresh and verify: the device is then the family's or the challenge's own (`did`)."""
    app_id: str
    ip: str
    user_agent: str
