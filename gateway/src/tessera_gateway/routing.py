"""Which upstream serves a public path. Pure: no I/O."""

from typing import Literal

Upstream = Literal["identity", "session"]

# Longest prefix first; anything else (and all of /internal/) is not routed.
ROUTES: tuple[tuple[str, Upstream], ...] = (
    ("/v1/users/", "identity"),
    ("/v1/", "session"),
    ("/.well-known/jwks.json", "session"),
)


def resolve(path: str) -> Upstream | None:
    """The upstream for `path`, or None when the gateway must not forward it."""
    if path.startswith("/internal/") or "/../" in path or path.endswith("/.."):
        return None
    for prefix, upstream in ROUTES:
        if path.startswith(prefix):
            return upstream
    return None
