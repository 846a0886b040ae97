"""`PATCH /v1/users/me`: the signed-in user's display name and language."""

from typing import Annotated, Literal

import msgspec
from litestar import patch
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import UNSET, UnsetType

from tessera_identity.api.bearer import signed_in, user_of
from tessera_identity.flows.profile.service import Profiles, UpdateProfile
from tessera_shared.errors import Code
from tessera_shared.http.internal import client_ip
from tessera_shared.http.openapi import BEARER, documented
from tessera_shared.http.request import AnyRequest


class ProfileChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields sent change (a misspelt one is refused rather than silently ignored)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | UnsetType | None = UNSET
    """Display name, 1 to 100 characters (surrounding spaces are trimmed); `null` clears it."""
    locale: Literal["en", "de", "fr", "it"] | UnsetType = UNSET
    """Language of every later email and SMS to the person (answers follow Accept-Language)."""


class ProfileView(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None
    locale: str


# A handler of its own, not a controller: litestar (2.25) cannot merge two controllers' routes
# on one path (`GET /v1/users/me` is `AccountController`'s), a plain handler it can.
@patch(
    "/v1/users/me",
    status_code=200,
    guards=[signed_in],
    tags=["account"],
    security=BEARER,
    opt=documented(Code.FORBIDDEN),
)
async def update_profile(
    request: AnyRequest,
    data: JSONBody[ProfileChanges],
    profiles: NamedDependency[Profiles],
) -> ProfileView:
    """Change the display name and/or language; answers the profile as it now is."""
    after = await profiles.update(
        UpdateProfile(
            user_id=user_of(request),
            name=data.name,
            locale=data.locale,
            client_ip=client_ip(request),
        )
    )
    return ProfileView(name=after.name, locale=after.locale)
