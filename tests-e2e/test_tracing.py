"""One trace across every part: a sign-in that sends a code, from the client's `traceparent`
through the gateway, session, identity, PostgreSQL, the outbox relay, NATS, otp-delivery and
SMTP. The parts export over OTLP to a collector stand-in that keeps the spans in memory."""

import json
import secrets
import time

from tessera_shared.testing.otlp import CollectedSpan

from .test_foundation import call
from .test_mfa import email_code
from .test_registration import PASSWORD
from .test_sessions import active_account, authenticate

DEVICE = {"X-Device-ID": "e2e-trace-1", "X-App-ID": "web-app"}
PARTS = {"tessera-gateway", "tessera-session", "tessera-identity", "tessera-otp-delivery"}


def test_a_sign_in_that_sends_a_code_is_one_trace_from_the_gateway_to_smtp(suite):
    address = "e2e.trace@example.com"
    active_account(suite, address)
    status, _, body = authenticate(suite, address, device=DEVICE)
    assert status == 200, body
    status, _, body = call(
        f"{suite.gateway_url}/v1/users/me/mfa",
        "PUT",
        json.dumps({"mfa_mode": "email"}).encode(),
        **{"Authorization": f"Bearer {body['access_token']}", "Content-Type": "application/json"},
    )
    assert status == 200, body

    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    status, _, body = call(
        f"{suite.gateway_url}/v1/authenticate",
        "POST",
        json.dumps({"username": address, "password": PASSWORD}).encode(),
        **{
            "Content-Type": "application/json",
            "traceparent": f"00-{trace_id}-{client_span}-01",
            **DEVICE,
        },
    )
    assert (status, body["mfa_mode"]) == (200, "email")
    assert email_code(suite, address, 2)  # the login code really went out

    def relay_published(spans: list[CollectedSpan]) -> bool:
        return any(s.service == "tessera-identity" and s.name.endswith(" publish") for s in spans)

    def delivered(spans: list[CollectedSpan]) -> bool:
        return relay_published(spans) and any(s.name == "smtp send" for s in spans)

    spans = suite.traces.wait_for(trace_id, delivered, PARTS)
    assert {s.service for s in spans} == PARTS
    names = {(s.service, s.name) for s in spans}
    for expected in (
        ("tessera-identity", "postgresql transaction"),
        ("tessera-otp-delivery", "otp.deliver"),
        ("tessera-otp-delivery", "smtp send"),
    ):
        assert expected in names, names
    assert relay_published(spans)

    # One chain, not fragments: from the SMTP span up to the client's span, each parent known
    # (spans whose batch is still on its way are waited for).
    path = chain(suite, trace_id, client_span)
    assert path[0] == "tessera-otp-delivery"
    assert path[-1] == "tessera-gateway"
    assert "tessera-session" in path
    assert "tessera-identity" in path


def chain(suite, trace_id: str, root_parent: str, within: float = 20.0) -> list[str]:
    """The services on the way from the `smtp send` span up to the span `root_parent`."""
    deadline = time.monotonic() + within
    while True:
        by_id = {s.span_id: s for s in suite.traces.trace(trace_id)}
        span = next(s for s in by_id.values() if s.name == "smtp send")
        path = [span.service]
        while span.parent_span_id != root_parent and span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            path.append(span.service)
        if span.parent_span_id == root_parent:
            return path
        if time.monotonic() > deadline:
            raise AssertionError(f"span {span.parent_span_id} is not in the trace: {path}")
        time.sleep(0.1)
