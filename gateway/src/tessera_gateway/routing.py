"""Which upstream serves a public path, and which paths need a bearer token. Pure: no I/O."""

from typing import Literal

Upstream = Literal["identity", "session"]

# Longest prefix first; anything else (and all of /internal/) is not routed.
ROUTES: tuple[tuple[str, Upstream], ...] = (
    ("/v1/users/", "identity"),
    ("/v1/", "session"),
    ("/.well-known/jwks.json", "session"),
    # The /auth surface (guides 002, 003): sign-in and sessions in session, the rest identity.
    ("/auth/login", "session"),
    ("/auth/logout", "session"),
    ("/auth/validate-session", "session"),
    ("/auth/verify-mfa", "session"),
    ("/auth/recover-mfa", "session"),
    ("/auth/", "identity"),
)

# Routes that act for a signed-in user: each path, and (trees) every path below it.
ACCESS_TOKEN_PATHS = frozenset(
    {
        "/v1/logout",
        "/v1/logout-all",
        "/v1/users/credentials",
        "/v1/users/verify-credential",
        "/v1/users/recovery-codes",
        "/auth/logout",
        "/auth/validate-session",
        "/auth/update-user",
        "/auth/update-email",
        "/auth/enable-mfa",
    }
)
ACCESS_TOKEN_TREES = ("/v1/sessions", "/v1/users/me", "/auth/otp")
# TOTP setup may happen before the first full sign-in, with the MFA challenge token instead.
CHALLENGE_TOKEN_TREES = ("/v1/users/totp", "/auth/otp/methods/totp", "/auth/otp/code")


def resolve(path: str) -> Upstream | None:
    """The upstream for `path`, or None when the gateway must not forward it."""
    route = route_of(path)
    return route[1] if route else None


def route_of(path: str) -> tuple[str, Upstream] | None:
    """The entry of ROUTES (prefix, upstream) forwarding `path`, or None when none may."""
    if path.startswith("/internal/") or "/../" in path or path.endswith("/.."):
        return None
    for prefix, upstream in ROUTES:
        if path.startswith(prefix):
            return prefix, upstream
    return None


def canonical(path: str) -> str:
    """`path` without empty and `.` segments, as the services will route it."""
    return "/" + "/".join(s for s in path.split("/") if s not in ("", "."))


def _in_tree(path: str, trees: tuple[str, ...]) -> bool:
    return any(path == tree or path.startswith(f"{tree}/") for tree in trees)


def requires_access_token(path: str) -> bool:
    """Whether `path` needs `Authorization: Bearer` with a live access token.

    On TOTP setup routes a challenge token does as well (`accepts_challenge_token`).
    """
    path = canonical(path)
    return (
        path in ACCESS_TOKEN_PATHS
        or _in_tree(path, ACCESS_TOKEN_TREES)
        or _in_tree(path, CHALLENGE_TOKEN_TREES)
    )


def accepts_challenge_token(path: str) -> bool:
    """Whether an MFA challenge token may stand in for the access token on `path`."""
    return _in_tree(canonical(path), CHALLENGE_TOKEN_TREES)
