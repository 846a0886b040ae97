"""Issue 16's ratios against the peer harness's JSONL results (the format of loadgen.py)."""

import json
from pathlib import Path

import pytest

from benchmarks.suite_peers import (
    TARGETS,
    PeerRow,
    compare,
    comparison_table,
    load_peer_rows,
)

pytestmark = pytest.mark.unit


def _record(label: str, scenario: str, rps: float, *, ok_rps: float | None = None) -> str:
    """One line as loadgen.py writes it (every field it writes, most of them unread here)."""
    connections = 8 if scenario in ("login", "register") else 32
    return json.dumps(
        {
            "label": label,
            "scenario": scenario,
            "started_utc": "2026-11-22T06:29:50Z",
            "base_url": "http://127.0.0.1:8101",
            "connections": connections,
            "threads": 1,
            "duration_s": 12.0,
            "warmup_s": 3.0,
            "wrk_cpus": "0",
            "rps": rps,
            "ok_rps": rps if ok_rps is None else ok_rps,
            "lat_ms": {"p50": 33.0, "p75": 40.0, "p90": 50.0, "p99": 945.0, "max": 1200.0},
            "requests": int(rps * 12),
            "non2xx": 0,
            "socket_errors": 0,
            "avg_resp_bytes": 120.0,
            "sanity_body_bytes": None,
            "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
            "refresh": {"rotated": 0, "lost": 0, "starved": 0},
            "warmup_rps": rps,
            "foreign_cpu_pct": 1.2,
            "foreign_top": [],
            "attempts": 1,
            "attempt_foreign_pct": [1.2],
            "quiet_before": True,
            "quiet_waited_s": 0.0,
            "loadavg": ["0.50", "0.40", "0.30"],
            "wrk_cmd": "BENCH_MODE=static taskset -c 0 wrk -t 1 -c 8 -d 12s ...",
        }
    )


@pytest.fixture
def peer_files(tmp_path: Path) -> list[Path]:
    """Three runs of fastapi-users' login, one of everything else (RESULTS.md's medians)."""
    fau = tmp_path / "fastapi_users.jsonl"
    fau.write_text(
        "\n".join(
            [
                _record("fastapi-users/jwt", "login", 50.0),
                _record("fastapi-users/jwt", "login", 46.7),
                _record("fastapi-users/jwt", "login", 47.9),
                _record("fastapi-users/jwt", "validate", 866.0),
                _record("fastapi-users/db-token", "login", 46.5),
                _record("fastapi-users/db-token", "validate", 765.0),
                _record("fastapi-users", "register", 45.2),
            ]
        )
        + "\n\n"
    )
    ba = tmp_path / "better_auth.jsonl"
    ba.write_text(
        "\n".join(
            [
                _record("better-auth[argon2]", "login", 37.1),
                _record("better-auth[argon2]", "validate", 900.0, ok_rps=863.0),
                _record("better-auth[argon2]", "register", 37.6),
                _record("better-auth[node-rs]", "login", 75.6),
                _record("better-auth[node-rs]", "register", 70.4),
                _record("better-auth[argon2]/session-refresh(updateAge=0)", "refresh", 531.0),
            ]
        )
        + "\n"
    )
    return [fau, ba]


OURS = {"login": 90.0, "validate": 2400.0, "me": 1300.0, "refresh": 1000.0, "register": 70.0}


def test_every_target_is_compared_with_the_median_of_the_matching_peer_runs(
    peer_files: list[Path],
) -> None:
    rows = load_peer_rows(peer_files)
    assert len(rows) == 13
    found = [(c.target.ours, c.peer_label, c.peer, c.runs) for c in compare(OURS, rows)]
    assert found == [
        ("login", "fastapi-users/jwt", 47.9, 3),
        ("validate", "fastapi-users/db-token", 765.0, 1),
        ("validate", "better-auth[argon2]", 863.0, 1),  # its successful req/s, not all
        ("me", "fastapi-users/jwt", 866.0, 1),
        ("refresh", "better-auth[argon2]/session-refresh(updateAge=0)", 531.0, 1),
        ("register", "fastapi-users", 45.2, 1),
    ]


def test_the_table_gives_each_ratio_and_whether_it_meets_its_target(
    peer_files: list[Path],
) -> None:
    table = comparison_table(compare(OURS, load_peer_rows(peer_files))).splitlines()
    assert table[0] == (
        "| target | ours ok req/s | peer | peer ok req/s (median) | runs | ratio | verdict |"
    )
    assert table[2:] == [
        "| login vs fastapi-users login (>= 1.8x) | 90 | fastapi-users/jwt | 47.9 | 3 "
        "| 1.88x | ok |",
        "| validate-session vs fastapi-users session check (DB token) (>= 3x) | 2400 "
        "| fastapi-users/db-token | 765.0 | 1 | 3.14x | ok |",
        "| validate-session vs better-auth get-session (>= 3x) | 2400 | better-auth[argon2] "
        "| 863.0 | 1 | 2.78x | **below target** |",
        "| /v1/users/me vs fastapi-users /users/me (JWT) (>= 1.5x) | 1300 | fastapi-users/jwt "
        "| 866.0 | 1 | 1.50x | ok |",
        "| refresh vs better-auth session refresh (>= 2x) | 1000 "
        "| better-auth[argon2]/session-refresh(updateAge=0) | 531.0 | 1 | 1.88x "
        "| **below target** |",
        "| register vs fastapi-users register (>= 1.5x) | 70 | fastapi-users | 45.2 | 1 "
        "| 1.55x | ok |",
    ]


def test_a_missing_peer_result_or_scenario_of_ours_still_gets_its_line() -> None:
    rows = [PeerRow(label="fastapi-users/jwt", scenario="login", rps=47.9)]
    comparisons = compare({"validate": 2400.0}, rows)
    assert len(comparisons) == len(TARGETS)
    login = comparisons[0]
    assert (login.ours, login.peer, login.ratio) == (None, 47.9, None)
    table = comparison_table(comparisons).splitlines()
    assert table[2] == (
        "| login vs fastapi-users login (>= 1.8x) | not measured | fastapi-users/jwt | 47.9 "
        "| 1 | - | - |"
    )
    assert table[3] == (
        "| validate-session vs fastapi-users session check (DB token) (>= 3x) | 2400 | - "
        "| no result | 0 | - | - |"
    )


def test_a_line_that_is_not_a_result_names_its_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "tessera.jsonl"
    bad.write_text(_record("tessera", "login", 80.0) + '\n{"label": "x"}\n')
    with pytest.raises(ValueError, match=r"tessera\.jsonl:2: not a loadgen\.py result"):
        load_peer_rows([bad])
