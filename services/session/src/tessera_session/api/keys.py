"""`GET /.well-known/jwks.json` and the internal introspection endpoint."""

from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_session.adapters.keys import KeyRing
from tessera_session.service import Sessions
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.http.internal import internal_caller


@get("/.well-known/jwks.json", tags=["keys"])
async def jwks(keys: NamedDependency[KeyRing]) -> Response[dict[str, Any]]:
    """Public keys verifying Tessera access tokens (current and previous)."""
    return Response(keys.jwks(), headers={"cache-control": "public, max-age=300"})


class IntrospectRequest(msgspec.Struct, frozen=True):
    token: str


class Introspection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    active: bool
    revoked: bool = False
    claims: AccessClaims | None = None


class IntrospectionController(Controller):
    path = "/internal/v1"
    guards = (internal_caller,)
    include_in_schema = False

    @post("/introspect", status_code=200)
    async def introspect(
        self, data: JSONBody[IntrospectRequest], sessions: NamedDependency[Sessions]
    ) -> Introspection:
        """Is this access token valid and its session alive? (RFC 7662 in spirit.)"""
        claims, active = await sessions.introspect(data.token)
        if claims is None:
            return Introspection(active=False)
        if not active:
            return Introspection(active=False, revoked=True)
        return Introspection(active=True, claims=claims)
