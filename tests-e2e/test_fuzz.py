"""Schemathesis over the gateway's merged OpenAPI document, against the whole suite: every
public operation, generated valid and invalid requests, every check of `--checks all`.

Bounded in `make test` (TESSERA_FUZZ_EXAMPLES test cases per operation and phase, 10 by
default); `make test-fuzz TESSERA_FUZZ_EXAMPLES=1000` for a long local run, TESSERA_FUZZ_SEED
for another random seed. Each phase signs in users of its own, so a logout or a lockout caused
by one phase cannot starve the next of a valid token; within a phase the routes ending sessions
run last, with their own user, so they cannot starve the others either.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .test_foundation import call
from .test_registration import PASSWORD, code_for, post, registration

# No "examples": the document gives no request examples to replay.
PHASES = ("coverage", "fuzzing", "stateful")
ENDING_SESSIONS = "^/(v1|auth)/logout"
# Checks of `--checks all` left out, each with the reason.
EXCLUDED_CHECKS: dict[str, str] = {
    # Expects 2xx/401/403/404/409/429 for every schema-valid request. Tessera refuses valid JSON
    # for rules a schema cannot state: a common password, an undeliverable address, a wrong
    # or expired code, an unknown account (400/422 with a documented domain code).
    "positive_data_acceptance": "domain rules beyond the schema answer 400/422 by design",
}


def signed_in(suite) -> str:
    """A new account, registered and verified through the gateway: its fresh access token."""
    address = f"fuzz.{uuid.uuid4().hex[:12]}@example.com"
    status, _, body = post(suite, "/v1/users/initiate-registration", registration(address))
    assert status == 200, body
    verification = (
        f'{{"user_id": "{body["user_id"]}", "credential_type": "email", '
        f'"otp": "{code_for(suite, address)}"}}'
    )
    status, _, body = post(suite, "/v1/users/verify-registration", verification.encode())
    assert status == 200, body
    credentials = f'{{"username": "{address}", "password": "{PASSWORD}"}}'.encode()
    status, _, body = call(
        f"{suite.gateway_url}/v1/authenticate",
        "POST",
        credentials,
        **{"Content-Type": "application/json", "X-Device-ID": f"fuzz-{uuid.uuid4().hex[:8]}"},
    )
    assert status == 200, body
    return str(body["access_token"])


@pytest.mark.fuzz
@pytest.mark.parametrize("phase", PHASES)
def test_the_fuzzer_finds_no_server_error_and_no_answer_that_contradicts_the_document(
    suite, phase: str, tmp_path: Path
):
    selections = [["--exclude-path-regex", ENDING_SESSIONS]]
    if phase != "stateful":  # no links between the logout routes: nothing to chain
        selections.append(["--include-path-regex", ENDING_SESSIONS])
    for selection in selections:
        run = schemathesis(suite, phase, selection, signed_in(suite), tmp_path)
        assert run.returncode == 0, run.stdout[-30000:] + run.stderr[-5000:]
        print(run.stdout[-3000:])  # the summary, with `pytest -s`


def schemathesis(
    suite, phase: str, selection: list[str], token: str, reports: Path
) -> subprocess.CompletedProcess[str]:
    """One `schemathesis run` of `phase` over the operations `selection` picks."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{suite.gateway_url}/openapi.json",
        "--phases",
        phase,
        *selection,
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--max-examples",
        os.environ.get("TESSERA_FUZZ_EXAMPLES", "10"),
        "--seed",
        os.environ.get("TESSERA_FUZZ_SEED", "14"),
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--header",
        f"X-API-Key: {suite.api_key}",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "junit",
        "--report-dir",
        str(reports),
        "--no-color",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
