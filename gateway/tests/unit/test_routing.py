import pytest

from tessera_gateway.routing import resolve


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
    ],
)
def test_public_paths_map_to_their_service_and_internal_ones_to_none(path, upstream):
    assert resolve(path) == upstream
