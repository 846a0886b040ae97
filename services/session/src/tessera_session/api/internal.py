"""The internal API for other parts (`X-Internal-Token`, never routed by the gateway):
token introspection, the revocation identity asks for after a password change or reset, an
account disabled or erased, and the session list of identity's admin API."""

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_session.api.sessions import session_record
from tessera_session.service.sessions import Sessions
from tessera_shared.contracts.internal import (
    SessionsFound,
    SessionsQuery,
    SessionsRevocation,
    SessionsRevoked,
)
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.http.internal import internal_caller


class IntrospectRequest(msgspec.Struct, frozen=True):
    token: str


class Introspection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    active: bool
    revoked: bool = False
    claims: AccessClaims | None = None


class InternalController(Controller):
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

    @post("/sessions/revoke", status_code=200)
    async def revoke(
        self, data: JSONBody[SessionsRevocation], sessions: NamedDependency[Sessions]
    ) -> SessionsRevoked:
        """End every session of the user except `keep_session`, in one atomic step."""
        revoked = await sessions.revoke(
            str(data.user_id), data.keep_session, data.credential_version, purge=data.purge
        )
        return SessionsRevoked(revoked=revoked)

    @post("/sessions/list", status_code=200)
    async def list_sessions(
        self, data: JSONBody[SessionsQuery], sessions: NamedDependency[Sessions]
    ) -> SessionsFound:
        """The user's live sessions, oldest first."""
        found = sorted(await sessions.sessions_of(str(data.user_id)), key=lambda s: s.created_at)
        return SessionsFound(sessions=[session_record(s) for s in found])
