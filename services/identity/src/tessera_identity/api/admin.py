"""`/admin/v1/...`: the operators' API. Reached only through the gateway, which checks the
admin key (`Authorization: Bearer tsa_...`) and forwards its id and scopes with the internal
token; each route here needs one scope (`domain/admin.py`)."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from msgspec import UNSET, UnsetType

from tessera_identity.domain.admin import actor_of, scopes_of, search_term
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.admin.service import Actor, Admin, NewUser, UserChanges, UserDetail
from tessera_identity.ports import AccountView, AuditEvent, UserSummary
from tessera_shared.contracts.admin import ADMIN_KEY_ID_HEADER, ADMIN_SCOPES_HEADER, AdminScope
from tessera_shared.contracts.internal import SessionRecord
from tessera_shared.errors import Code, TesseraError
from tessera_shared.http.internal import client_ip, internal_caller
from tessera_shared.http.openapi import ADDRESS_RULES, ADMIN, PASSWORD_RULES, documented
from tessera_shared.http.request import AnyRequest

Connection = ASGIConnection[Any, Any, Any, State]
Guard = Callable[[Connection, BaseRouteHandler], None]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]


def needs(scope: AdminScope) -> Guard:
    """Guard: the gateway's internal token, and an admin key holding `scope`."""

    def guard(connection: Connection, handler: BaseRouteHandler) -> None:
        internal_caller(connection, handler)
        if scope not in scopes_of(connection.headers.get(ADMIN_SCOPES_HEADER, "")):
            raise TesseraError(Code.ADMIN_SCOPE_MISSING, params={"scope": scope.value})

    return guard


def actor(request: AnyRequest) -> Actor:
    return Actor(
        name=actor_of(request.headers.get(ADMIN_KEY_ID_HEADER, "")), client_ip=client_ip(request)
    )


class CredentialDetail(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    value: str
    verified: bool
    verified_at: datetime | None


class MfaDetail(msgspec.Struct, frozen=True, kw_only=True):
    mode: str
    totp_enabled: bool
    recovery_codes_left: int


class LockoutDetail(msgspec.Struct, frozen=True, kw_only=True):
    locked: bool
    """Whether sign-in is locked now (from some IP or from everywhere)."""
    locked_until: datetime | None
    failures: int
    """Failed passwords counted in the current window, from anywhere."""


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """A user's own fields, as operators and the person's export show them."""

    id: UUID
    status: str
    name: str | None
    locale: str
    created_at: datetime
    last_login_at: datetime | None
    last_login_device: str
    password_set: bool
    """False: made without a password; the person sets one with a password reset."""
    password_changed_at: datetime | None


def profile_of(view: AccountView) -> dict[str, Any]:
    """The `Profile` fields of `view`, for it and the structs extending it."""
    user, activity = view.user, view.activity
    return {
        "id": user.id,
        "status": user.status.value,
        "name": user.name,
        "locale": user.locale,
        "created_at": activity.created_at,
        "last_login_at": activity.last_login_at,
        "last_login_device": activity.last_login_device,
        "password_set": user.password_hash is not None,
        "password_changed_at": activity.password_changed_at,
    }


class AdminUser(Profile, frozen=True, kw_only=True):
    mfa: MfaDetail
    credentials: list[CredentialDetail]
    lockout: LockoutDetail
    sessions: list[SessionRecord]


class UserList(msgspec.Struct, frozen=True, kw_only=True):
    users: list[UserSummary]
    next_cursor: str | None
    """Pass as `cursor` for the next page; null on the last one."""


class AuditList(msgspec.Struct, frozen=True, kw_only=True):
    events: list[AuditEvent]
    """Newest first."""
    next_cursor: str | None


class NewUserBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)] | None = None
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    """International format (+41791234567). An email or a phone is required."""
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    """Left out: the person sets one with a password reset."""
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    locale: Literal["en", "de", "fr", "it"] = "en"
    verified: bool = True
    """False: the addresses are not verified yet (an unverified email still signs in)."""


class UserChangesBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields sent change."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | UnsetType | None = UNSET
    locale: Literal["en", "de", "fr", "it"] | UnsetType = UNSET
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)] | UnsetType = UNSET
    """Replaces the account's email address."""
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | UnsetType = UNSET
    """Replaces the account's phone number."""
    verified: bool = True
    """Whether a new email or phone counts as verified."""


class SessionsEnded(msgspec.Struct, frozen=True, kw_only=True):
    revoked: int
    """How many sessions ended."""


def credential_details(view: AccountView) -> list[CredentialDetail]:
    return [
        CredentialDetail(
            type=c.type.value,
            value=c.value,
            verified=c.verified_at is not None,
            verified_at=c.verified_at,
        )
        for c in view.credentials
    ]


def mfa_detail(view: AccountView, recovery_codes_left: int) -> MfaDetail:
    return MfaDetail(
        mode=view.user.mfa_mode.value,
        totp_enabled=view.totp is not None and view.totp.confirmed_at is not None,
        recovery_codes_left=recovery_codes_left,
    )


def _detail(found: UserDetail) -> AdminUser:
    view = found.view
    return AdminUser(
        **profile_of(view),
        mfa=mfa_detail(view, found.recovery_codes_left),
        credentials=credential_details(view),
        lockout=LockoutDetail(
            locked=found.locked,
            locked_until=found.lockout.locked_until,
            failures=found.lockout.failures,
        ),
        sessions=found.sessions,
    )


READ = [needs(AdminScope.USERS_READ)]
WRITE = [needs(AdminScope.USERS_WRITE)]
FOUND = documented(Code.USER_NOT_FOUND)


class AdminController(Controller):
    path = "/admin/v1"
    tags = ("admin",)
    security = ADMIN

    @get("/users", guards=READ, opt=documented())
    async def find_users(
        self,
        admin: NamedDependency[Admin],
        search: Annotated[str, QueryParameter(name="query", max_length=320)] = "",
        status: FromQuery[Literal["pending", "active", "disabled"] | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> UserList:
        """Users whose email or phone starts with `query` (or with that id), newest first."""
        shown = AccountStatus(status) if status else None
        page = await admin.find(search_term(search), shown, limit, cursor)
        return UserList(users=page.users, next_cursor=page.next_cursor)

    @post(
        "/users",
        status_code=201,
        guards=WRITE,
        opt=documented(*ADDRESS_RULES, *PASSWORD_RULES, Code.CREDENTIAL_UNAVAILABLE),
    )
    async def create_user(
        self, request: AnyRequest, data: JSONBody[NewUserBody], admin: NamedDependency[Admin]
    ) -> AdminUser:
        """Create an active account, verified unless `verified` is false."""
        user_id = await admin.create(
            NewUser(
                email=data.email,
                phone=data.phone,
                password=data.password,
                name=data.name,
                locale=data.locale,
                verified=data.verified,
            ),
            actor(request),
        )
        return _detail(await admin.show(user_id))

    @get("/users/{user_id:uuid}", guards=READ, opt=FOUND)
    async def show_user(self, user_id: FromPath[UUID], admin: NamedDependency[Admin]) -> AdminUser:
        """Credentials, MFA, lockout, last sign-in and live sessions of one user."""
        return _detail(await admin.show(user_id))

    @patch(
        "/users/{user_id:uuid}",
        guards=WRITE,
        opt=documented(Code.USER_NOT_FOUND, *ADDRESS_RULES, Code.CREDENTIAL_UNAVAILABLE),
    )
    async def update_user(
        self,
        request: AnyRequest,
        user_id: FromPath[UUID],
        data: JSONBody[UserChangesBody],
        admin: NamedDependency[Admin],
    ) -> AdminUser:
        """Change the name, language, email or phone."""
        changes = UserChanges(
            name=data.name,
            locale=data.locale,
            email=data.email,
            phone=data.phone,
            verified=data.verified,
        )
        await admin.update(user_id, changes, actor(request))
        return _detail(await admin.show(user_id))

    @post(
        "/users/{user_id:uuid}/disable",
        status_code=200,
        guards=WRITE,
        opt=documented(Code.USER_NOT_FOUND, Code.FORBIDDEN),
    )
    async def disable_user(
        self, request: AnyRequest, user_id: FromPath[UUID], admin: NamedDependency[Admin]
    ) -> AdminUser:
        """Refuse sign-in (403 account_disabled) and end every session at once."""
        await admin.set_status(user_id, AccountStatus.DISABLED, actor(request))
        return _detail(await admin.show(user_id))

    @post(
        "/users/{user_id:uuid}/enable",
        status_code=200,
        guards=WRITE,
        opt=documented(Code.USER_NOT_FOUND, Code.FORBIDDEN),
    )
    async def enable_user(
        self, request: AnyRequest, user_id: FromPath[UUID], admin: NamedDependency[Admin]
    ) -> AdminUser:
        """Let a disabled account sign in again."""
        await admin.set_status(user_id, AccountStatus.ACTIVE, actor(request))
        return _detail(await admin.show(user_id))

    @post("/users/{user_id:uuid}/unlock", status_code=200, guards=WRITE, opt=FOUND)
    async def unlock_user(
        self, request: AnyRequest, user_id: FromPath[UUID], admin: NamedDependency[Admin]
    ) -> AdminUser:
        """Clear sign-in lockouts and counted wrong second-factor codes."""
        await admin.unlock(user_id, actor(request))
        return _detail(await admin.show(user_id))

    @post("/users/{user_id:uuid}/mfa/reset", status_code=200, guards=WRITE, opt=FOUND)
    async def reset_mfa(
        self, request: AnyRequest, user_id: FromPath[UUID], admin: NamedDependency[Admin]
    ) -> AdminUser:
        """Remove the second factors (app, recovery codes; MFA off); the person is notified."""
        await admin.reset_mfa(user_id, actor(request))
        return _detail(await admin.show(user_id))

    @delete(
        "/users/{user_id:uuid}/sessions",
        status_code=200,
        guards=[needs(AdminScope.SESSIONS_WRITE)],
        opt=FOUND,
    )
    async def end_sessions(
        self, request: AnyRequest, user_id: FromPath[UUID], admin: NamedDependency[Admin]
    ) -> SessionsEnded:
        """End every session of the user; their access tokens stop working at once."""
        return SessionsEnded(revoked=await admin.end_sessions(user_id, actor(request)))

    @delete("/users/{user_id:uuid}", status_code=204, guards=WRITE, opt=FOUND)
    async def delete_user(
        self, request: AnyRequest, user_id: FromPath[UUID], admin: NamedDependency[Admin]
    ) -> None:
        """Erase the account and its personal data; the audit trail keeps a tombstone."""
        await admin.delete(user_id, actor(request))

    @get("/audit", guards=[needs(AdminScope.AUDIT_READ)], opt=documented())
    async def audit(
        self,
        admin: NamedDependency[Admin],
        user_id: FromQuery[UUID | None] = None,
        action: Annotated[str | None, QueryParameter(max_length=64)] = None,
        since: FromQuery[datetime | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AuditList:
        """Security events and admin actions, newest first; never codes or secrets."""
        page = await admin.audit(user_id, action, since, limit, cursor)
        return AuditList(events=page.events, next_cursor=page.next_cursor)
