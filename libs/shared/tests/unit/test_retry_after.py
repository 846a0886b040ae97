"""Every 503 tells the client when to come back, whichever way a part produced it."""

from collections.abc import Iterator

import pytest
from litestar import get
from litestar.testing import TestClient

from tessera_shared.errors import TesseraError
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks
from tessera_shared.settings import ServiceSettings


class DependencyGoneError(Exception):
    pass


@get("/raised")
async def raised() -> None:
    raise TesseraError("service_unavailable")


@get("/raised-with-own-retry-after")
async def own() -> None:
    raise TesseraError("service_unavailable", headers={"Retry-After": "9"})


@get("/dependency")
async def dependency() -> None:
    raise DependencyGoneError


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = build_app(
        name="test",
        settings=ServiceSettings(port=1),
        title="test",
        route_handlers=[raised, own, dependency],
        health=HealthChecks(),
        unavailable_when=(DependencyGoneError,),
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/raised", "/dependency"])
def test_a_503_without_its_own_retry_after_gets_two_seconds(client, path):
    answer = client.get(path)
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"
    assert answer.headers.get_list("retry-after") == ["2"]


def test_a_503_that_knows_better_keeps_its_own_retry_after(client):
    answer = client.get("/raised-with-own-retry-after")
    assert answer.status_code == 503
    assert answer.headers.get_list("retry-after") == ["9"]
