"""The running suite, seen by a client through the gateway."""

import json
import urllib.error
import urllib.request

import pytest


def call(url: str, method: str = "GET", body: bytes | None = None, **headers: str):
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def test_the_gateway_is_ready_with_every_dependency_up(suite):
    status, _, body = call(f"{suite.gateway_url}/health/ready")
    assert status == 200
    assert body["status"] == "up"
    checks = body["checks"]
    assert {name: check["status"] for name, check in checks.items()} == {
        "redis": "up",
        "identity": "up",
        "session": "up",
    }
    assert checks["identity"]["details"]["postgres"]["status"] == "up"
    assert checks["session"]["details"]["redis"]["status"] == "up"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The requested resource does not exist."),
        ("de-CH", "Die angeforderte Ressource existiert nicht."),
        ("fr;q=0.9, en;q=0.1", "La ressource demandée n’existe pas."),
        ("it-IT", "La risorsa richiesta non esiste."),
    ],
)
@pytest.mark.parametrize("path", ["/nowhere", "/v1/users/no-such-route"])
def test_errors_through_the_gateway_are_localized(suite, path, language, message):
    """`/nowhere` is answered by the gateway, `/v1/users/…` by the identity service."""
    status, headers, body = call(f"{suite.gateway_url}{path}", **{"Accept-Language": language})
    assert status == 404
    assert body["code"] == "not_found"
    assert body["message"] == message
    assert body["request_id"] == headers["x-request-id"]


def test_a_request_id_travels_from_the_client_to_the_service_and_back(suite):
    status, headers, body = call(
        f"{suite.gateway_url}/v1/users/no-such-route", **{"X-Request-ID": "e2e-trace-1"}
    )
    assert status == 404
    assert headers["x-request-id"] == "e2e-trace-1"
    assert body["request_id"] == "e2e-trace-1"  # set by identity, relayed by the gateway


def test_internal_routes_cannot_be_reached_through_the_gateway(suite):
    status, _, body = call(f"{suite.gateway_url}/internal/users/verify-password", "POST", b"{}")
    assert status == 404
    assert body["code"] == "not_found"


def test_every_part_serves_liveness(suite):
    for process in suite.processes:
        status, _, body = call(f"{process.url}/health/live")
        assert (status, body) == (200, {"status": "up"})
