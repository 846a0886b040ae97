"""The HTTP error model, through a real litestar app built like every part's."""

from collections.abc import Iterator
from typing import Annotated

import msgspec
import pytest
from litestar import get, post
from litestar.params import JSONBody
from litestar.testing import TestClient

from tessera_shared.errors import TesseraError
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks
from tessera_shared.settings import ServiceSettings


class Signup(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=20)]
    age: int


@post("/signup")
async def signup(data: JSONBody[Signup]) -> dict[str, str]:
    return {"email": data.email}


@get("/boom")
async def boom() -> None:
    raise RuntimeError("secret-internal-detail")


@get("/limited")
async def limited() -> None:
    raise TesseraError("rate_limited", headers={"retry-after": "7"})


class DependencyGoneError(Exception):
    pass


@get("/unavailable")
async def unavailable() -> None:
    raise TesseraError("service_unavailable")


@get("/unavailable-with-own-retry-after")
async def unavailable_knowing_better() -> None:
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
        route_handlers=[signup, boom, limited, unavailable, unavailable_knowing_better, dependency],
        health=HealthChecks(),
        request_max_body_size=1024,
        unavailable_when=(DependencyGoneError,),
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def post_raw(client: TestClient, body: bytes, language: str = "en"):
    return client.post(
        "/signup",
        content=body,
        headers={"content-type": "application/json", "accept-language": language},
    )


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe{}", b"not json", b'{"email": "a@b", '])
def test_a_malformed_body_is_a_400_invalid_json(client, body):
    answer = post_raw(client, body)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_json"


def test_wrong_field_types_are_a_422_with_localized_field_details(client):
    answer = post_raw(client, b'{"email": 5, "age": 1}', "de-CH")
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "validation_failed"
    assert body["message"] == "Einige Felder fehlen oder sind ungültig."
    assert body["details"] == [
        {"field": "email", "code": "wrong_type", "message": "Dieses Feld muss vom Typ str sein."}
    ]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (b'{"age": 1}', "email", "missing_field"),
        (b'{"email": "a", "age": 1, "admin": true}', "admin", "unknown_field"),
        (b'{"email": "' + b"x" * 30 + b'", "age": 1}', "email", "too_long"),
        (b"[]", "", "wrong_type"),
        (b"null", "", "wrong_type"),
    ],
)
def test_each_kind_of_invalid_field_has_its_code(client, body, field, code):
    answer = post_raw(client, body)
    assert answer.status_code == 422
    [detail] = answer.json()["details"]
    assert (detail["field"], detail["code"]) == (field, code)


def test_a_body_over_the_limit_is_a_413(client):
    answer = post_raw(client, b'{"email": "' + b"x" * 5000 + b'", "age": 1}')
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The requested resource does not exist."),
        ("de", "Die angeforderte Ressource existiert nicht."),
        ("fr-FR", "La ressource demandée n’existe pas."),
        ("it;q=0.9, xx", "La risorsa richiesta non esiste."),
    ],
)
def test_an_unknown_route_is_a_localized_404_with_a_request_id(client, language, message):
    answer = client.get("/nowhere", headers={"accept-language": language})
    assert answer.status_code == 404
    body = answer.json()
    assert (body["code"], body["message"]) == ("not_found", message)
    assert body["request_id"] == answer.headers["x-request-id"]


def test_a_wrong_method_is_a_405(client):
    answer = client.delete("/signup")
    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"


def test_an_unexpected_failure_is_a_500_that_reveals_nothing(client):
    answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error"
    assert "secret-internal-detail" not in answer.text


def test_a_domain_error_keeps_its_status_and_headers(client):
    answer = client.get("/limited", headers={"accept-language": "fr"})
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "7"
    assert answer.json()["message"] == "Trop de requêtes. Veuillez réessayer plus tard."
    assert answer.headers["cache-control"] == "no-store"


def test_a_caller_request_id_is_echoed(client):
    answer = client.get("/nowhere", headers={"x-request-id": "abc-123"})
    assert answer.headers["x-request-id"] == "abc-123"
    assert answer.json()["request_id"] == "abc-123"


def test_unregistered_codes_are_refused_at_raise_time():
    with pytest.raises(ValueError, match="unregistered"):
        TesseraError("made_up_code")


# Every 503 tells the client when to come back, whichever way a part produced it.


@pytest.mark.parametrize("path", ["/unavailable", "/dependency"])
def test_a_503_without_its_own_retry_after_gets_two_seconds(client, path):
    answer = client.get(path)
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"
    assert answer.headers.get_list("retry-after") == ["2"]


def test_a_503_that_knows_better_keeps_its_own_retry_after(client):
    answer = client.get("/unavailable-with-own-retry-after")
    assert answer.status_code == 503
    assert answer.headers.get_list("retry-after") == ["9"]
