"""Request metrics and `GET /metrics`, through a real litestar app built like every part's."""

import uuid
from collections.abc import Iterator

import pytest
from litestar import get
from litestar.params import FromPath
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry, Counter

from tessera_shared.errors import TesseraError
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks
from tessera_shared.metrics import OPEN_METRICS, MetricsConfig
from tessera_shared.settings import ServiceSettings
from tessera_shared.testing.metrics import sample, series

REQUESTS = "tessera_http_requests_total"


@get("/things/{thing_id:str}", sync_to_thread=False)
def thing(thing_id: FromPath[str]) -> dict[str, str]:
    return {"id": thing_id}


@get("/busy", sync_to_thread=False)
def busy() -> None:
    raise TesseraError("service_unavailable")


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("broken")


def client_of(metrics: MetricsConfig = OPEN_METRICS) -> tuple[TestClient, str]:
    """A test client of a fresh app and its `service` label, unique to this test."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    app = build_app(
        name=name,
        settings=ServiceSettings(port=1),
        title="test",
        route_handlers=[thing, busy, boom],
        health=HealthChecks(),
        metrics=metrics,
    )
    return TestClient(app, raise_server_exceptions=False), name


def routes_of(exposition: str, service: str) -> set[str]:
    return {s["route"] for s in series(exposition, REQUESTS) if s["service"] == service}


@pytest.fixture
def app() -> Iterator[tuple[TestClient, str]]:
    client, name = client_of()
    with client:
        yield client, name


def test_requests_are_counted_by_route_template_never_by_their_path(app):
    client, name = app
    client.get("/things/abc")
    client.get("/things/xyz")

    text = client.get("/metrics").text
    labels = {"service": name, "method": "GET", "route": "/things/{thing_id}", "status": "200"}
    assert sample(text, REQUESTS, **labels) == 2
    assert routes_of(text, name) == {"/things/{thing_id}"}


def test_paths_no_route_answers_share_one_unmatched_series(app):
    client, name = app
    for n in range(3):
        assert client.get(f"/nothing/{n}").status_code == 404

    text = client.get("/metrics").text
    labels = {"service": name, "method": "GET", "route": "unmatched", "status": "404"}
    assert sample(text, REQUESTS, **labels) == 3
    assert routes_of(text, name) == {"unmatched"}


def test_errors_are_counted_by_their_status(app):
    client, name = app
    assert client.get("/busy").status_code == 503
    assert client.get("/boom").status_code == 500

    text = client.get("/metrics").text
    assert sample(text, REQUESTS, service=name, method="GET", route="/busy", status="503") == 1
    assert sample(text, REQUESTS, service=name, method="GET", route="/boom", status="500") == 1


def test_a_method_outside_the_standard_ones_is_counted_as_other(app):
    client, name = app
    assert client.request("BREW", "/things/abc").status_code == 405

    text = client.get("/metrics").text
    labels = {"service": name, "method": "other", "route": "unmatched", "status": "405"}
    assert sample(text, REQUESTS, **labels) == 1
    assert {s["method"] for s in series(text, REQUESTS) if s["service"] == name} == {"other"}


def test_each_request_is_timed_in_the_duration_histogram(app):
    client, name = app
    client.get("/things/abc")

    text = client.get("/metrics").text
    labels = {"service": name, "method": "GET", "route": "/things/{thing_id}"}
    assert sample(text, "tessera_http_request_duration_seconds_count", **labels) == 1
    inf = {**labels, "le": "+Inf"}
    assert sample(text, "tessera_http_request_duration_seconds_bucket", **inf) == 1


def test_probes_and_scrapes_are_left_out_of_the_request_metrics(app):
    client, name = app
    client.get("/health/live")
    client.get("/health/ready")
    client.get("/metrics")

    text = client.get("/metrics").text
    assert routes_of(text, name) == set()


def test_metrics_are_in_the_text_exposition_format_and_open_by_default(app):
    client, _ = app
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE tessera_http_requests_total counter" in answer.text
    assert "process_" in answer.text or "python_gc_" in answer.text


def test_with_a_token_the_metrics_need_it_as_bearer_and_anything_else_is_401():
    client, _ = client_of(MetricsConfig(token="right-token"))
    with client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"authorization": "Bearer wrong-token"})
        right = client.get("/metrics", headers={"authorization": "Bearer right-token"})

    assert (missing.status_code, missing.json()["code"]) == (401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (wrong.status_code, wrong.json()["code"]) == (401, "unauthorized")
    assert right.status_code == 200
    assert "tessera_http_requests_total" in right.text


def test_an_empty_token_means_there_is_no_metrics_endpoint():
    client, _ = client_of(MetricsConfig(token=""))
    with client:
        answer = client.get("/metrics", headers={"authorization": "Bearer "})
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


def test_a_part_s_own_registry_is_exposed_after_the_process_wide_one():
    registry = CollectorRegistry()
    own = Counter("tessera_test_own", "A part's own counter", registry=registry)
    own.inc(3)
    client, _ = client_of(MetricsConfig(registries=(registry,)))
    with client:
        text = client.get("/metrics").text
    assert sample(text, "tessera_test_own_total") == 3
    assert text.index("tessera_http_requests") < text.index("tessera_test_own")
