from collections.abc import Iterator

import pytest

from .helpers import AuthServer


@pytest.fixture
def server() -> Iterator[AuthServer]:
    """A JWKS and introspection endpoint on its own thread (see `helpers.AuthServer`)."""
    server = AuthServer()
    server.start()
    yield server
    server.stop()
