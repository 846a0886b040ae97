"""At startup identity logs the argon2 ceiling per core it measured, without holding up serving."""

import json
import re

import pytest

from tessera_shared.testing.waiting import eventually

from .conftest import running

LINE = re.compile(r"argon2id m=8192 t=1 p=1: ~\d+ hashes/s per core \(build: (avx2|portable)\)")


async def test_startup_logs_the_measured_argon2_hashes_per_second_per_core(
    postgres_url: str, nats_url: str, test_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[dict[str, object]] = []

    async def logged() -> list[dict[str, object]]:
        for line in capsys.readouterr().err.splitlines():
            if line.startswith("{"):
                seen.append(json.loads(line))
        return [e for e in seen if e.get("logger") == "tessera.identity.argon2"]

    async with running(postgres_url, nats_url, test_id) as env:
        assert (await env.client.get("/health/live")).status_code == 200
        entries = await eventually(logged, bool, within=10)

    assert len(entries) == 1
    assert entries[0]["level"] == "info"
    assert LINE.fullmatch(str(entries[0]["msg"])), entries[0]
