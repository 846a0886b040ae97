"""A part's docs page and its Redoc bundle, served by the part itself (no servers needed)."""

import hashlib
import re
from collections.abc import Iterator

import pytest
from litestar import get
from litestar.testing import TestClient

from tessera_shared.http import docs
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks
from tessera_shared.settings import ServiceSettings

BUNDLE = f"/schema/assets/redoc-{docs.REDOC_VERSION}/redoc.standalone.js"


@get("/v1/things", sync_to_thread=False)
def things() -> list[str]:
    return []


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = build_app(
        name="test-docs",
        settings=ServiceSettings(port=1),
        title="Things <API>",
        route_handlers=[things],
        health=HealthChecks(),
    )
    with TestClient(app) as client:
        yield client


def test_the_vendored_bundle_is_the_reviewed_one_with_its_licence_notices():
    bundle = (docs.REDOC_DIR / "redoc.standalone.js").read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == docs.REDOC_SHA256
    notices = (docs.REDOC_DIR / "redoc.standalone.js.LICENSE.txt").read_text()
    assert f'Version: "{docs.REDOC_VERSION}"' in notices
    assert "MIT License" in (docs.REDOC_DIR / "LICENSE").read_text()


def test_a_service_serves_its_docs_page_and_bundle_from_its_own_origin(client):
    answer = client.get("/schema/redoc")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "<title>Things &lt;API&gt;</title>" in page
    assert 'spec-url="/schema/openapi.json"' in page
    assert f'<script src="{BUNDLE}"></script>' in page
    assert f'content="{docs.POLICY}"' in page
    assert not re.findall(r"https?://", page)  # no other origin, not even a favicon
    assert "<script>" not in page  # nothing inline: the policy allows scripts from 'self' only

    bundle = client.get(BUNDLE)
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert hashlib.sha256(bundle.content).hexdigest() == docs.REDOC_SHA256
    cache = set(bundle.headers["cache-control"].split(", "))
    assert cache == {"public", "immutable", f"max-age={docs.YEAR_S}"}
    licences = client.get(BUNDLE.replace("redoc.standalone.js", "LICENSE"))
    assert licences.status_code == 200


def test_the_policy_names_no_other_origin():
    sources = [word for directive in docs.POLICY.split("; ") for word in directive.split()[1:]]
    assert set(sources) <= {"'none'", "'self'", "'unsafe-inline'", "data:", "blob:"}


def test_the_openapi_document_stays_json_where_it_was(client):
    for path in ("/schema", "/schema/openapi.json"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.json()["info"]["title"] == "Things <API>"
        assert "/v1/things" in answer.json()["paths"]
        assert not [p for p in answer.json()["paths"] if p.startswith("/schema")]
