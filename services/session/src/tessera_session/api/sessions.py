"""`/v1/authenticate`, `/v1/refresh-token`, `/v1/logout`, `/v1/sessions`, `/v1/logout-all`."""

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from msgspec import UNSET, UnsetType

from tessera_session.api.client import bearer, client_of, cookie_name
from tessera_session.api.tokens import TokenAnswer, cleared_cookie, mfa_step_fields, with_cookie
from tessera_session.config import SessionSettings
from tessera_session.domain.family import SessionInfo
from tessera_session.service.refresh import Refresh
from tessera_session.service.sessions import Sessions
from tessera_session.service.sign_in import MfaRequired, SignIn
from tessera_shared.contracts.internal import SessionRecord
from tessera_shared.errors import Code
from tessera_shared.http.locale import request_locale, translator_of
from tessera_shared.http.openapi import APP_ID, BEARER, DEVICE_ID, SIGN_IN, Header, documented
from tessera_shared.http.request import AnyRequest
from tessera_shared.i18n import N_

LOGGED_OUT = N_("Logged out successfully")
CLIENT = (Code.DEVICE_ID_REQUIRED, Code.APP_ID_INVALID)
REFRESH_COOKIE = Header(
    name="tessera_rt_default",
    location="cookie",
    description="The refresh token, HTTP-only, one cookie per app: `tessera_rt_<X-App-ID>` "
    "(the name's start is a setting, `tessera_rt` by default).",
)


class AuthenticateBody(msgspec.Struct, frozen=True, kw_only=True):
    __schema_name__: ClassVar[str] = "Credentials"
    """Its name in the OpenAPI document (with `schema_component_key` below), as it always was."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    """E-mail address or phone number."""
    password: Annotated[str, msgspec.Meta(max_length=1024)]


AuthenticateJson = Annotated[
    AuthenticateBody,
    Body(media_type=RequestEncodingType.JSON, schema_component_key="Credentials"),
]


class MfaAnswer(msgspec.Struct, frozen=True, kw_only=True):
    mfa_required: Literal[True] = True
    mfa_mode: str
    """`email` or `sms` (a code was sent there), or `totp` (the authenticator app)."""
    challenge_token: str
    """Pre-auth only: send it as X-MFA-Challenge to /v1/verify-2FA."""
    user_id: str
    totp_setup_required: bool | UnsetType = UNSET
    """Present (true) only when policy requires TOTP and the user has none yet: set it up with
    the challenge token as Bearer on /v1/users/totp/setup and /confirm, then verify-2FA."""


class LogoutAnswer(msgspec.Struct, frozen=True, kw_only=True):
    status: int = 200
    message: str


class SessionView(SessionRecord, frozen=True, kw_only=True):
    current: bool
    """True for the session of the token making this request."""


class SessionList(msgspec.Struct, frozen=True, kw_only=True):
    sessions: list[SessionView]


def session_record(info: SessionInfo) -> SessionRecord:
    """A live family as the user's list and identity's admin API show it."""
    return SessionRecord(
        id=info.id,
        device_id=info.device_id,
        app_id=info.app_id,
        created_at=datetime.fromtimestamp(info.created_at / 1000, UTC),
        last_used_at=datetime.fromtimestamp(info.last_used_at / 1000, UTC),
        ip=info.ip,
        user_agent=info.user_agent,
    )


class SessionController(Controller):
    path = "/v1"
    tags = ("sessions",)

    @post(
        "/authenticate",
        status_code=200,
        opt=documented(*CLIENT, *SIGN_IN, headers=[DEVICE_ID, APP_ID]),
    )
    async def authenticate(
        self,
        request: AnyRequest,
        data: AuthenticateJson,
        sign_in: NamedDependency[SignIn],
        settings: NamedDependency[SessionSettings],
    ) -> Response[TokenAnswer | MfaAnswer]:
        """Sign in with a password; a full session, or the MFA step when the user has MFA on."""
        client = client_of(request, settings.default_app_id)
        outcome = await sign_in.authenticate(data.username, data.password, client)
        if isinstance(outcome, MfaRequired):
            answer = MfaAnswer(**mfa_step_fields(outcome))
            return Response(answer, headers={"cache-control": "no-store"})
        tokens = with_cookie(outcome, client.app_id, settings)
        return tokens  # type: ignore[return-value]

    @post(
        "/refresh-token",
        status_code=200,
        opt=documented(
            *CLIENT, Code.REFRESH_TOKEN_INVALID, headers=[DEVICE_ID, APP_ID, REFRESH_COOKIE]
        ),
    )
    async def refresh(
        self,
        request: AnyRequest,
        refresh: NamedDependency[Refresh],
        settings: NamedDependency[SessionSettings],
    ) -> Response[TokenAnswer]:
        """Rotate the refresh cookie of this app and device; a new access token."""
        client = client_of(request, settings.default_app_id)
        raw = request.cookies.get(cookie_name(settings.cookie_name, client.app_id))
        return with_cookie(await refresh.refresh(raw, client), client.app_id, settings)

    @post("/logout", status_code=200, security=BEARER)
    async def logout(
        self,
        request: AnyRequest,
        sessions: NamedDependency[Sessions],
        settings: NamedDependency[SessionSettings],
    ) -> Response[LogoutAnswer]:
        """End this session: the family is deleted and its access tokens stop working."""
        claims = await sessions.current(bearer(request))
        await sessions.logout(claims)
        return _logged_out(request, claims.aid, settings)

    @post("/logout-all", status_code=200, security=BEARER)
    async def logout_all(
        self,
        request: AnyRequest,
        sessions: NamedDependency[Sessions],
        settings: NamedDependency[SessionSettings],
    ) -> Response[LogoutAnswer]:
        """End every session of the user, on every device."""
        claims = await sessions.current(bearer(request))
        await sessions.logout_all(claims.sub)
        return _logged_out(request, claims.aid, settings)

    @get("/sessions", security=BEARER)
    async def list_sessions(
        self, request: AnyRequest, sessions: NamedDependency[Sessions]
    ) -> Response[SessionList]:
        """The user's active sessions."""
        claims = await sessions.current(bearer(request))
        found = await sessions.sessions_of(claims.sub)
        views = [
            SessionView(**msgspec.structs.asdict(session_record(s)), current=s.id == claims.sid)
            for s in found
        ]
        return Response(SessionList(sessions=views), headers={"cache-control": "no-store"})

    @delete(
        "/sessions/{session_id:str}",
        status_code=204,
        security=BEARER,
        opt=documented(Code.SESSION_NOT_FOUND),
    )
    async def end_session(
        self, request: AnyRequest, session_id: FromPath[str], sessions: NamedDependency[Sessions]
    ) -> None:
        """End one of the user's sessions (its tokens stop working at once)."""
        claims = await sessions.current(bearer(request))
        await sessions.end(claims.sub, session_id)


def _logged_out(
    request: AnyRequest, app_id: str, settings: SessionSettings
) -> Response[LogoutAnswer]:
    """The guide's logout answer, localized, clearing this app's refresh cookie."""
    message = translator_of(request)(request_locale(request), LOGGED_OUT)
    return Response(
        LogoutAnswer(message=message),
        headers={"cache-control": "no-store"},
        cookies=[cleared_cookie(app_id, settings)],
    )
