"""`GET /.well-known/jwks.json`: the public keys verifying Tessera tokens."""

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from tessera_session.ports import PublicKeys


@get("/.well-known/jwks.json", tags=["keys"])
async def jwks(keys: NamedDependency[PublicKeys]) -> Response[dict[str, Any]]:
    """Public keys verifying Tessera access tokens (current and previous)."""
    return Response(keys.jwks(), headers={"cache-control": "public, max-age=300"})
