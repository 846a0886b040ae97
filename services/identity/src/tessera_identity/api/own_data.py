"""`GET /v1/users/me/export` and `DELETE /v1/users/me`: a copy of one's data, and deleting
one's account (GDPR Art. 15, 17, 20)."""

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Response, delete, get
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_identity.api.admin import (
    CredentialDetail,
    MfaDetail,
    Profile,
    credential_details,
    mfa_detail,
    profile_of,
)
from tessera_identity.api.bearer import signed_in, user_of
from tessera_identity.flows.own_data.service import DeleteAccount, OwnData
from tessera_identity.ports import AuditEvent
from tessera_shared.contracts.internal import SessionRecord
from tessera_shared.errors import Code
from tessera_shared.http.internal import client_ip
from tessera_shared.http.openapi import BEARER, OTP_CHECK, documented
from tessera_shared.http.request import AnyRequest

# Proofs of a deletion: the password (counted like a password change's), the second factor.
PROOFS = (
    Code.FORBIDDEN,
    Code.INVALID_CREDENTIALS,
    Code.ACCOUNT_LOCKED,
    Code.LOGIN_ATTEMPTS_IN_PROGRESS,
    Code.STEP_UP_REQUIRED,
    Code.MFA_ATTEMPTS_EXCEEDED,
    *OTP_CHECK,
)


class ExportedEvent(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    action: str
    actor: str
    """`user` (the person, or someone trying their account), or `admin:<key id>`."""
    ip: str


class DataExport(msgspec.Struct, frozen=True, kw_only=True):
    exported_at: datetime
    user: Profile
    credentials: list[CredentialDetail]
    mfa: MfaDetail
    """Without secrets: no TOTP secret, no recovery codes."""
    sessions: list[SessionRecord]
    audit_events: list[ExportedEvent]
    """Security events about the account, newest first."""


class AccountDeletion(msgspec.Struct, frozen=True, kw_only=True):
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    """The current password; required when the account has one."""
    otp: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    """With MFA on: a current code of the second factor (authenticator app, or one from
    `POST /v1/users/me/mfa/code`)."""


def _event(e: AuditEvent) -> ExportedEvent:
    return ExportedEvent(at=e.at, action=e.action, actor=e.actor, ip=e.ip)


@get(
    "/v1/users/me/export",
    guards=[signed_in],
    tags=["account"],
    security=BEARER,
    opt=documented(Code.FORBIDDEN),
)
async def export_data(
    request: AnyRequest, own_data: NamedDependency[OwnData]
) -> Response[DataExport]:
    """Everything kept about the signed-in user, as JSON (secrets left out)."""
    found = await own_data.export(user_of(request), client_ip(request))
    export = DataExport(
        exported_at=found.exported_at,
        user=Profile(**profile_of(found.view)),
        credentials=credential_details(found.view),
        mfa=mfa_detail(found.view, found.recovery_codes_left),
        sessions=found.sessions,
        audit_events=[_event(e) for e in found.audit],
    )
    return Response(export, headers={"cache-control": "no-store"})


@delete(
    "/v1/users/me",
    status_code=204,
    guards=[signed_in],
    tags=["account"],
    security=BEARER,
    opt=documented(*PROOFS),
)
async def delete_account(
    request: AnyRequest, data: JSONBody[AccountDeletion], own_data: NamedDependency[OwnData]
) -> None:
    """Delete the account and its data for good; every session ends, a notice is sent."""
    await own_data.delete(
        DeleteAccount(
            user_id=user_of(request),
            password=data.password,
            otp=data.otp,
            client_ip=client_ip(request),
        )
    )
