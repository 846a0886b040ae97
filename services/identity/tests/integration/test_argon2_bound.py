"""At startup identity logs the argon2 ceiling per core it measured, before it serves."""

import json
import re

import pytest

from .conftest import running

LINE = re.compile(r"argon2id m=8192 t=1 p=1: ~\d+ hashes/s per core \(build: (avx2|portable)\)")


async def test_startup_logs_the_measured_argon2_hashes_per_second_per_core(
    postgres_url: str, nats_url: str, test_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running(postgres_url, nats_url, test_id) as env:
        logged = [
            json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"
        ]
        assert (await env.client.get("/health/live")).status_code == 200

    entries = [e for e in logged if e.get("logger") == "tessera.identity.argon2"]

    assert len(entries) == 1
    assert entries[0]["level"] == "info"
    assert LINE.fullmatch(str(entries[0]["msg"])), entries[0]
