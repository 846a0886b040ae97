"""The pure parts of `make bench` (argument parsing, wrk's summary line, the tables)."""

from pathlib import Path

import pytest

from benchmarks import suite_bench as bench

pytestmark = pytest.mark.unit

WRK_OUT = (
    "Running 12s test @ http://127.0.0.1:1\n"
    'WRKJSON {"requests":1200,"duration_s":12.000,"rps":100.00,"p50_ms":1.500,"p99_ms":9.250,'
    '"max_ms":20.000,"connect":0,"read":0,"write":0,"status":3,"timeout":1,'
    '"rotated":1197,"lost":3,"starved":0}\n'
)


def test_defaults_are_the_peer_harness_load() -> None:
    options = bench.parse_args([])
    assert (options.duration, options.warmup) == (12.0, 3.0)
    assert (options.conn_hash, options.conn_fast) == (8, 32)
    assert options.scenarios == (
        "login",
        "validate",
        "validate-direct",
        "me",
        "refresh",
        "refresh-direct",
        "register",
    )
    assert options.pin
    assert options.soak == 0
    assert options.peers == ()


def test_a_soak_and_peer_files_can_be_asked_for(tmp_path: Path) -> None:
    first, second = tmp_path / "fastapi_users.jsonl", tmp_path / "better_auth.jsonl"
    first.write_text("")
    second.write_text("")
    options = bench.parse_args(["--soak", "600", "--peers", str(first), str(second)])
    assert options.soak == 600
    assert options.peers == (first, second)


@pytest.mark.parametrize("argv", [["--soak", "-1"], ["--peers", "/nonexistent/peers.jsonl"]])
def test_a_negative_soak_and_a_missing_peer_file_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(argv)


def test_a_subset_of_scenarios_and_no_pinning_can_be_asked_for() -> None:
    options = bench.parse_args(["--scenarios", "refresh, me", "--no-pin", "--duration", "5"])
    assert options.scenarios == ("refresh", "me")
    assert not options.pin
    assert options.duration == 5.0


@pytest.mark.parametrize(
    "argv", [["--scenarios", "logout"], ["--duration", "0"], ["--duration", "2.5"]]
)
def test_unknown_scenarios_and_empty_runs_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(argv)


def test_the_server_gets_the_second_cpu_and_wrk_the_first() -> None:
    assert bench.pinning([3, 1], pin=True) == ("1", "3")
    assert bench.pinning([0], pin=True) == (None, None)
    assert bench.pinning([0, 1], pin=False) == (None, None)


def test_wrk_summary_becomes_a_table_row_with_lost_rotations() -> None:
    result = bench.parse_wrk(WRK_OUT)
    row = bench.Row(scenario="refresh", connections=32, result=result, foreign_pct=4.4)
    table = bench.format_table([row]).splitlines()
    assert table[0].startswith("| scenario | conns | req/s | p50 ms | p99 ms |")
    assert table[2] == (
        "| POST /auth/login/refresh (rotation) | 32 | 100 | 1.50 | 9.25 | 1200 "
        "| 3 non-2xx, 1 socket, 3 lost rotations | 4 % |  |"
    )


def _row(scenario: str, requests: int, status: int = 0) -> bench.Row:
    result = bench.Result(
        requests=requests,
        duration_s=10.0,
        rps=requests / 10,
        p50_ms=1.0,
        p99_ms=2.0,
        max_ms=3.0,
        status=status,
    )
    return bench.Row(scenario=scenario, connections=32, result=result, foreign_pct=0.0)


def test_each_measured_pair_shows_the_gateway_as_a_share_of_direct() -> None:
    rows = [
        _row("validate", 8_500, status=500),
        _row("validate-direct", 10_000),
        _row("refresh", 6_000),
        _row("refresh-direct", 10_000),
    ]
    table = bench.gateway_share_table(rows).splitlines()
    assert table[0] == (
        "| pair | through gateway ok req/s | direct ok req/s | gateway / direct | target >= 75 % |"
    )
    # non-2xx answers do not count: 8000 ok of 8500
    assert table[2] == "| validate / validate-direct | 800 | 1000 | 80 % | ok |"
    assert table[3] == "| refresh / refresh-direct | 600 | 1000 | 60 % | **below target** |"


def test_a_pair_with_one_side_missing_gets_no_share_line() -> None:
    assert bench.gateway_share_table([_row("validate", 100)]) == ""


def test_direct_refresh_rows_count_lost_rotations_too() -> None:
    row = bench.Row(
        scenario="refresh-direct",
        connections=32,
        result=bench.parse_wrk(WRK_OUT),
        foreign_pct=0.0,
    )
    assert bench.errors_of(row) == "3 non-2xx, 1 socket, 3 lost rotations"


def test_the_suite_runs_with_the_default_lockout_even_when_the_shell_raised_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_IDENTITY_LOCKOUT_IP_FAILURES", "100000")
    monkeypatch.setenv("TESSERA_IDENTITY_LOCKOUT_ACCOUNT_FAILURES", "100000")
    env = bench.Suite(tmp_path, None).env
    assert not [name for name in env if name.startswith("TESSERA_IDENTITY_LOCKOUT_")]
    assert env["TESSERA_GATEWAY_RATE_LIMITS_ENABLED"] == "false"


def test_wrk_output_without_the_summary_line_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        bench.parse_wrk("Running 12s test\n")
