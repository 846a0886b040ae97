import pytest

from tessera_gateway.rate_limits import make_policy, request_keys
from tessera_gateway.routes import PATHS, PREFIXES, TREES, canonical, checks_of, prefix_of, route_of


def resolve(path: str) -> str | None:
    route = route_of(path)
    return route.upstream if route else None


def bearer(path: str) -> str:
    """The token a path needs however it is spelled (the gateway forwards some spellings only)."""
    route = checks_of(path)
    return route.bearer if route else "none"


def requires_access_token(path: str) -> bool:
    return bearer(path) != "none"


def accepts_challenge_token(path: str) -> bool:
    return bearer(path) == "access-or-challenge"


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/v1/users/initiate-registration", "identity"),
        ("/v1/users/verify-registration", "identity"),
        ("/v1/authenticate", "session"),
        ("/v1/refresh-token", "session"),
        ("/.well-known/jwks.json", "session"),
        ("/internal/users/verify-password", None),
        ("/v1/users/../../internal/x", None),
        ("/", None),
        ("/v2/anything", None),
        ("/auth/login", "session"),
        ("/auth/login/refresh", "session"),
        ("/auth/logout", "session"),
        ("/auth/validate-session", "session"),
        ("/auth/verify-mfa", "session"),
        ("/auth/recover-mfa", "session"),
        ("/auth/register", "identity"),
        ("/auth/update-user", "identity"),
        ("/auth/otp/methods/sms", "identity"),
        ("/auth/../internal/v1/x", None),
    ],
)
def test_public_paths_map_to_their_service_and_internal_ones_to_none(path, upstream):
    assert resolve(path) == upstream


@pytest.mark.parametrize(
    "path",
    [
        "/v1/logout",
        "/v1/logout-all",
        "/v1/sessions",
        "/v1/sessions/",
        "/v1/sessions/6f1c-42",
        "/v1/users/me",
        "/v1/users/me/password",
        "/v1/users/credentials",
        "/v1/users/verify-credential",
        "/v1/users/recovery-codes",
        "/v1/users/me/mfa",
        "/v1/users/totp/setup",
        "/v1/./logout",
        "//v1/sessions//x",
        "/v1/users/./me/.",
        "/auth/logout",
        "/auth/validate-session",
        "/auth/update-user",
        "/auth/update-email",
        "/auth/enable-mfa",
        "/auth/otp/code",
        "/auth/otp/methods/totp",
    ],
)
def test_routes_acting_for_a_user_need_a_bearer_token_however_they_are_spelled(path):
    assert requires_access_token(path)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/authenticate",
        "/v1/refresh-token",
        "/v1/verify-2FA",
        "/v1/logout-everything",
        "/v1/sessionsx",
        "/v1/users/initiate-registration",
        "/v1/users/meadow",
        "/v1/users/credentials-x",
        "/v1/users/totpx",
        "/.well-known/jwks.json",
        "/health/ready",
        "/",
        "/auth/login",
        "/auth/login/refresh",
        "/auth/register",
        "/auth/verify-mfa",
        "/auth/recover-mfa",
        "/auth/request-reset-password",
        "/auth/reset-password",
    ],
)
def test_public_routes_need_no_bearer_token(path):
    assert not requires_access_token(path)


@pytest.mark.parametrize(
    ("path", "accepted"),
    [
        ("/v1/users/totp/setup", True),
        ("/v1/users/totp/verify", True),
        ("/v1/users/totp", True),
        ("/v1/users//totp/./setup", True),
        ("/v1/logout", False),
        ("/v1/sessions", False),
        ("/v1/users/me", False),
        ("/v1/users/credentials", False),
        ("/v1/users/totpx", False),
        ("/v1/authenticate", False),
        ("/auth/otp/methods/totp", True),
        ("/auth/otp/code", True),
        ("/auth/otp/methods/sms", False),
        ("/auth/enable-mfa", False),
        ("/auth/validate-session", False),
    ],
)
def test_only_totp_setup_routes_take_a_challenge_token(path, accepted):
    assert accepts_challenge_token(path) is accepted


def test_canonical_paths_drop_empty_and_dot_segments_only():
    assert canonical("//v1/./users//me/.") == "/v1/users/me"
    assert canonical("/v1/users/../me") == "/v1/users/../me"
    assert canonical("") == "/"


@pytest.mark.parametrize(
    "path",
    ["/v1/users/password-reset/request", "/v1/users/password-reset/confirm"],
)
def test_password_reset_goes_to_identity_without_token_or_api_key_and_counts_as_registration(
    path,
):
    route = route_of(path)
    assert route is not None
    assert route.upstream == "identity"
    assert not requires_access_token(path)
    assert not route.api_key
    assert route.group == "registration"
    keys = request_keys(make_policy(), route.group, "203.0.113.7", username="ann@example.com")
    assert [k.suffix for k in keys] == ["registration:ip:203.0.113.7"]


@pytest.mark.parametrize("path", ["/v1/users/me", "/v1/users/me/password"])
def test_the_profile_and_password_change_need_an_access_token_and_no_challenge_token(path):
    route = route_of(path)
    assert route is not None
    assert route.upstream == "identity"
    assert requires_access_token(path)
    assert not accepts_challenge_token(path)
    assert route.group == "default"


def test_every_path_and_tree_goes_where_its_prefix_sends_it():
    for path, route in [*PATHS.items(), *TREES.items()]:
        prefix = prefix_of(path)
        assert prefix is not None, path
        assert PREFIXES[prefix].upstream == route.upstream, path


def test_a_path_spelled_under_another_prefix_goes_where_it_is_sent_with_its_own_checks():
    route = route_of("/v1/./users/initiate-registration")
    assert route is not None
    assert (route.upstream, route.api_key, route.group) == ("session", True, "registration")


def test_only_validate_session_spelled_exactly_is_answered_by_the_gateway():
    assert route_of("/auth/validate-session").answer == "validate-session"  # type: ignore[union-attr]
    for other in (
        "/auth/validate-session/",
        "/auth/./validate-session",
        "/auth//validate-session",
        "/auth/validate-sessions",
        "/auth/login",
        "/v1/sessions",
    ):
        route = route_of(other)
        assert route is not None
        assert (other, route.answer) == (other, "upstream")


@pytest.mark.parametrize(
    "path",
    ["/admin/v1/users", "/admin/v1/users/6f1c/sessions", "/admin/./v1/users", "/admin//v1/audit"],
)
def test_the_admin_api_goes_to_identity_with_an_admin_key_however_it_is_spelled(path):
    route = route_of(path)
    assert route is not None
    assert route.upstream == "identity"
    assert route.bearer == "admin"
    assert not route.api_key
    assert route.cache == "no-store"


@pytest.mark.parametrize("path", ["/admin", "/admin/../v1/users", "/v1/users/../../admin/v1/users"])
def test_admin_spellings_outside_the_admin_prefix_are_not_forwarded(path):
    assert route_of(path) is None


def test_no_other_route_takes_an_admin_key():
    routes = [*PATHS.items(), *TREES.items(), *PREFIXES.items()]
    assert [path for path, route in routes if route.bearer == "admin"] == ["/admin/"]
