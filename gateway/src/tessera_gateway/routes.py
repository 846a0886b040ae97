"""The gateway's request path in one table: where each public path goes, what is checked first.

Pure: no I/O. A request is forwarded as the client sent it, so the prefix it is sent under
decides whether it is forwarded and where (`PREFIXES`); the checks go by the path as the
service will route it (`canonical`: empty and `.` segments dropped), so that
`/v1/users/./initiate-registration` needs its API key all the same (`PATHS`, `TREES`).
The lookups are remembered per path as sent (bounded): a request asks them up to three times
(forwarding, security headers, metrics label), and the same paths come back all the time.
"""

import functools
from typing import Literal, get_args

import msgspec

Upstream = Literal["identity", "session"]
Bearer = Literal["none", "access", "access-or-challenge", "admin"]
"""`access`: a live access token; `access-or-challenge`: an MFA challenge token does as well;
`admin`: an active admin key (`tsa_`), never a person's token (`checks.check_admin`)."""
Group = Literal["auth", "registration", "introspection", "default"]
"""The rate-limit group (`rate_limits.make_policy`); `introspection` is the gateway's own
`POST /oauth2/introspect` (`oauth.py`), which resource servers call, not people."""
GROUPS: tuple[Group, ...] = get_args(Group)
Answerer = Literal["upstream", "validate-session"]
"""`upstream`: forwarded; `validate-session`: answered by the gateway after its checks, from the
claims it verified (`tessera_shared.contracts.session_state`), as the session service would."""
Cache = Literal["no-store", "upstream"]
"""`no-store`: answers carry tokens, codes and personal data, no cache keeps them;
`upstream`: the service's own caching stands."""


class Route(msgspec.Struct, frozen=True, kw_only=True):
    """What the gateway does with requests on one prefix, path or tree."""

    upstream: Upstream
    bearer: Bearer = "none"
    """The token `Authorization: Bearer` must carry."""
    group: Group = "default"
    account_field: str | None = None
    """The field of the JSON body naming the account, counted against the per-account limit."""
    api_key: bool = False
    """Whether a valid `X-API-Key` of a client application is required."""
    cache: Cache = "no-store"
    answer: Answerer = "upstream"
    """Who answers a `GET` of the exact path; other methods and spellings are forwarded."""


IDENTITY = Route(upstream="identity")
SESSION = Route(upstream="session")
_SESSION_SIGN_IN = Route(upstream="session", group="auth")
_SESSION_USER = Route(upstream="session", bearer="access")
_IDENTITY_USER = Route(upstream="identity", bearer="access")
# TOTP setup may happen before the first full sign-in, with the MFA challenge token instead.
_IDENTITY_TOTP = Route(upstream="identity", bearer="access-or-challenge")
# Registration and password reset send codes (email, SMS: they cost money) to any address.
_IDENTITY_CODES = Route(upstream="identity", group="registration")
# Registration is open to anyone with an address, so only known client applications may start
# it; every other public route authenticates the user (or needs nothing) instead.
_REGISTRATION = Route(upstream="identity", group="registration", api_key=True)
# The admin API: operators' keys only; which scope a handler needs is identity's to say.
ADMIN = Route(upstream="identity", bearer="admin")

# Where a path as sent goes: the first prefix it starts with (longest first), which also names
# it in the metrics (`/v1/users/*`). Anything else, and all of /internal/, is not forwarded.
PREFIXES: dict[str, Route] = {
    "/admin/": ADMIN,
    "/v1/users/": IDENTITY,
    "/v1/": SESSION,
    "/.well-known/jwks.json": Route(upstream="session", cache="upstream"),
    # The /auth surface (guides 002, 003): sign-in and sessions in session, the rest identity.
    "/auth/login": SESSION,
    "/auth/logout": SESSION,
    "/auth/validate-session": SESSION,
    "/auth/verify-mfa": SESSION,
    "/auth/recover-mfa": SESSION,
    "/auth/": IDENTITY,
}

# Paths with checks of their own, exactly. The sign-in routes are where passwords and codes can
# be guessed; refresh is not: its 256-bit tokens cannot be, and several tabs refresh at once.
PATHS: dict[str, Route] = {
    "/v1/authenticate": Route(upstream="session", group="auth", account_field="username"),
    "/v1/verify-2FA": _SESSION_SIGN_IN,
    "/v1/logout": _SESSION_USER,
    "/v1/logout-all": _SESSION_USER,
    "/v1/users/initiate-registration": _REGISTRATION,
    "/v1/users/verify-registration": _REGISTRATION,
    "/v1/users/resend-code": _REGISTRATION,
    "/v1/users/password-reset/request": _IDENTITY_CODES,
    "/v1/users/password-reset/confirm": _IDENTITY_CODES,
    "/v1/users/credentials": _IDENTITY_USER,
    "/v1/users/verify-credential": _IDENTITY_USER,
    "/v1/users/recovery-codes": _IDENTITY_USER,
    "/auth/login": Route(upstream="session", group="auth", account_field="email"),
    "/auth/verify-mfa": _SESSION_SIGN_IN,
    "/auth/recover-mfa": _SESSION_SIGN_IN,
    "/auth/logout": _SESSION_USER,
    # Its answer is the gateway's bearer check itself: no hop to the session service.
    "/auth/validate-session": Route(upstream="session", bearer="access", answer="validate-session"),
    "/auth/register": _IDENTITY_CODES,
    "/auth/request-reset-password": _IDENTITY_CODES,
    "/auth/reset-password": Route(upstream="identity", group="auth"),
    "/auth/update-user": _IDENTITY_USER,
    "/auth/update-email": _IDENTITY_USER,
    "/auth/enable-mfa": _IDENTITY_USER,
}

# Trees with checks of their own: the path and every path below it (the longest tree wins).
TREES: dict[str, Route] = {
    "/v1/sessions": _SESSION_USER,
    "/v1/users/me": _IDENTITY_USER,
    "/v1/users/totp": _IDENTITY_TOTP,
    "/auth/otp": _IDENTITY_USER,
    "/auth/otp/methods/totp": _IDENTITY_TOTP,
    "/auth/otp/code": _IDENTITY_TOTP,
}
_TREES_LONGEST_FIRST = sorted(TREES, key=len, reverse=True)


def canonical(path: str) -> str:
    """`path` without empty and `.` segments, as the services will route it."""
    return "/" + "/".join(s for s in path.split("/") if s not in ("", "."))


@functools.lru_cache(maxsize=4096)
def prefix_of(sent: str) -> str | None:
    """The prefix of `PREFIXES` forwarding a path as sent, or None when none may."""
    if sent.startswith("/internal/") or "/../" in sent or sent.endswith("/.."):
        return None
    return next((prefix for prefix in PREFIXES if sent.startswith(prefix)), None)


@functools.lru_cache(maxsize=4096)
def checks_of(sent: str) -> Route | None:
    """The Route whose checks apply to a path as sent, forwarded or not; None: none do.

    Those of its `canonical` spelling: the exact path, else the longest tree holding it, else
    its prefix (`/v1/` holds `/v1`).
    """
    path = canonical(sent)
    if (route := PATHS.get(path)) is not None:
        return route
    for tree in _TREES_LONGEST_FIRST:
        if path == tree or path.startswith(f"{tree}/"):
            return TREES[tree]
    for prefix, route in PREFIXES.items():
        if path.startswith(prefix) or f"{path}/" == prefix:
            return route
    return None


@functools.lru_cache(maxsize=4096)
def route_of(sent: str) -> Route | None:
    """The Route of a request to the path as sent; None when the gateway must not forward it.

    Its upstream is the one of the prefix the path is sent under, its checks those of the path
    as the service will route it.
    """
    prefix = prefix_of(sent)
    if prefix is None:
        return None
    upstream = PREFIXES[prefix].upstream
    route = checks_of(sent) or PREFIXES[prefix]
    if route.upstream != upstream:  # e.g. /auth/./login: forwarded as sent, so to identity
        route = msgspec.structs.replace(route, upstream=upstream)
    if route.answer != "upstream" and sent != canonical(sent):
        # Answered only as the service routes it exactly; other spellings get its own answer.
        route = msgspec.structs.replace(route, answer="upstream")
    return route
