"""The `/auth` surface of guides 002/003 for native clients, on the same sessions as `/v1`.

Tokens travel in the body, never in a cookie: `idToken` is the access token of `/v1` and
`refreshToken` the refresh token the `/v1` cookie would carry (same rotation, grace window and
reuse detection). JSON is camelCase. X-Device-ID and X-App-ID are optional: a login without a
device gets a fresh random one (its own family), and a refresh or verify without one is taken
to come from the family's or the challenge's own device; a device or app that is sent must
match, as on `/v1`.
"""

from typing import Annotated, Literal, TypeVar

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody
from msgspec import UNSET, UnsetType

from tessera_session.api.client import bearer, client_of
from tessera_session.api.sessions import LOGGED_OUT, LogoutAnswer
from tessera_session.api.tokens import mfa_step_fields
from tessera_session.config import SessionSettings
from tessera_session.service.refresh import Refresh
from tessera_session.service.second_factor import SecondFactorSignIn
from tessera_session.service.sessions import Sessions
from tessera_session.service.sign_in import MfaRequired, SignIn
from tessera_session.service.start import Tokens
from tessera_shared.contracts.session_state import AuthSessionState, session_state
from tessera_shared.errors import Code, FieldError, TesseraError
from tessera_shared.http.locale import request_locale, translator_of
from tessera_shared.http.openapi import (
    APP_ID,
    BEARER,
    DEVICE_ID_OPTIONAL,
    SECOND_FACTOR,
    SIGN_IN,
    documented,
)
from tessera_shared.http.request import AnyRequest

T = TypeVar("T")
CLIENT = (Code.DEVICE_ID_REQUIRED, Code.APP_ID_INVALID)
CLIENT_HEADERS = (DEVICE_ID_OPTIONAL, APP_ID)
ChallengeToken = Annotated[str, msgspec.Meta(max_length=8192)]
ChallengeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="x-mfa-challenge",
        description="The `challengeToken` of the /auth/login answer, instead of the body field.",
    ),
]


class AuthLoginBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    """The account's e-mail address, or its phone number in international form."""
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    """The account's password."""


class AuthTokens(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id_token: str
    """The access token (a JWT, 15 minutes): send it as `Authorization: Bearer`."""
    refresh_token: str
    """Opaque; exchange it at /auth/login/refresh. Every refresh answers a new one and the old
    one stops working: always store the newest."""


class AuthMfaStep(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    mfa_required: Literal[True] = True
    """The password was right; a second factor completes the sign-in."""
    mfa_mode: str
    """`email` or `sms` (a code was sent there), or `totp` (the authenticator app)."""
    challenge_token: str
    """Pre-auth only, 5 minutes: send it to /auth/verify-mfa or /auth/recover-mfa."""
    user_id: str
    """The account's id."""
    totp_setup_required: bool | UnsetType = UNSET
    """Present (true) only when policy requires TOTP and the account has none yet: set it up
    with the challenge token as Bearer first, then verify with a TOTP code."""


class AuthMfaCode(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    challenge_token: ChallengeToken | None = None
    """The `challengeToken` of the login (or in the X-MFA-Challenge header)."""
    otp: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    """The code sent by email or SMS, or the current code of the authenticator app."""


class AuthRecoveryBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    challenge_token: ChallengeToken | None = None
    """The `challengeToken` of the login (or in the X-MFA-Challenge header)."""
    recovery_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """One of the account's recovery codes; it is spent, and MFA is turned off."""


class AuthRefreshBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    refresh_token: Annotated[str, msgspec.Meta(max_length=1024)]
    """The newest refresh token of this session (of the login or the last refresh)."""


class AuthLogoutBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    refresh_token: str | None = None
    """Ignored: the session of the Bearer token ends, and with it every refresh token of it."""


def _no_store(content: T) -> Response[T]:
    return Response(content, headers={"cache-control": "no-store"})


def _body(tokens: Tokens) -> AuthTokens:
    return AuthTokens(id_token=tokens.access_token, refresh_token=tokens.refresh_token)


def _tokens(tokens: Tokens) -> Response[AuthTokens]:
    return _no_store(_body(tokens))


def challenge_of(body: str | None, header: str | None) -> str:
    """The challenge from the body or the X-MFA-Challenge header: 401 unauthorized without
    one, 422 when both are given and differ."""
    given = {value.strip() for value in (body, header) if value and value.strip()}
    if not given:
        raise TesseraError(Code.UNAUTHORIZED)
    if len(given) > 1:
        raise TesseraError(
            Code.VALIDATION_FAILED,
            details=[FieldError(field="challengeToken", code="invalid_value", message="")],
        )
    return given.pop()


class AuthController(Controller):
    path = "/auth"
    tags = ("auth",)

    @post("/login", status_code=200, opt=documented(*CLIENT, *SIGN_IN, headers=CLIENT_HEADERS))
    async def login(
        self,
        request: AnyRequest,
        data: JSONBody[AuthLoginBody],
        sign_in: NamedDependency[SignIn],
        settings: NamedDependency[SessionSettings],
    ) -> Response[AuthTokens | AuthMfaStep]:
        """Sign in with a password: the tokens, or the MFA step when the account has MFA on."""
        client = client_of(request, settings.default_app_id, no_device="assign")
        outcome = await sign_in.authenticate(data.email, data.password, client)
        answer: AuthTokens | AuthMfaStep
        if isinstance(outcome, MfaRequired):
            answer = AuthMfaStep(**mfa_step_fields(outcome))
        else:
            answer = _body(outcome)
        return _no_store(answer)

    @post(
        "/verify-mfa",
        status_code=200,
        opt=documented(*CLIENT, Code.UNAUTHORIZED, *SECOND_FACTOR, headers=CLIENT_HEADERS),
    )
    async def verify_mfa(
        self,
        request: AnyRequest,
        data: JSONBody[AuthMfaCode],
        second_factor: NamedDependency[SecondFactorSignIn],
        settings: NamedDependency[SessionSettings],
        challenge: ChallengeHeader = None,
    ) -> Response[AuthTokens]:
        """Complete an MFA sign-in with the code: the tokens, as /auth/login without MFA."""
        client = client_of(request, settings.default_app_id, no_device="unnamed")
        token = challenge_of(data.challenge_token, challenge)
        tokens = await second_factor.verify(token, data.otp, recovery=False, client=client)
        return _tokens(tokens)

    @post(
        "/recover-mfa",
        status_code=200,
        opt=documented(*CLIENT, Code.UNAUTHORIZED, *SECOND_FACTOR, headers=CLIENT_HEADERS),
    )
    async def recover_mfa(
        self,
        request: AnyRequest,
        data: JSONBody[AuthRecoveryBody],
        second_factor: NamedDependency[SecondFactorSignIn],
        settings: NamedDependency[SessionSettings],
        challenge: ChallengeHeader = None,
    ) -> Response[AuthTokens]:
        """Complete an MFA sign-in with a recovery code, which turns MFA off: the tokens."""
        client = client_of(request, settings.default_app_id, no_device="unnamed")
        token = challenge_of(data.challenge_token, challenge)
        return _tokens(await second_factor.recover(token, data.recovery_code, client))

    @post(
        "/login/refresh",
        status_code=200,
        opt=documented(*CLIENT, Code.REFRESH_TOKEN_INVALID, headers=CLIENT_HEADERS),
    )
    async def refresh(
        self,
        request: AnyRequest,
        data: JSONBody[AuthRefreshBody],
        refresh: NamedDependency[Refresh],
        settings: NamedDependency[SessionSettings],
    ) -> Response[AuthTokens]:
        """Rotate the refresh token: a new access token and a new refresh token (store it)."""
        client = client_of(request, settings.default_app_id, no_device="unnamed")
        return _tokens(await refresh.refresh(data.refresh_token, client))

    @post("/logout", status_code=200, security=BEARER)
    async def logout(
        self,
        request: AnyRequest,
        sessions: NamedDependency[Sessions],
        data: JSONBody[AuthLogoutBody | None] = None,
    ) -> Response[LogoutAnswer]:
        """End this session: its refresh token and access tokens stop working at once."""
        claims = await sessions.current(bearer(request))
        await sessions.logout(claims)
        message = translator_of(request)(request_locale(request), LOGGED_OUT)
        return _no_store(LogoutAnswer(message=message))

    @get("/validate-session", security=BEARER)
    async def validate_session(
        self, request: AnyRequest, sessions: NamedDependency[Sessions]
    ) -> Response[AuthSessionState]:
        """Whether the Bearer access token is valid and its session alive (else 401)."""
        claims = await sessions.current(bearer(request))
        return _no_store(session_state(claims))
