"""The pure parts of `make bench` (argument parsing, wrk's summary line, the table).

Not collected by `make test` (benchmarks/ is outside the test paths): run it by path,
`.venv/bin/python -m pytest -q benchmarks/tests`.
"""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "suite_bench.py"
    spec = importlib.util.spec_from_file_location("suite_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["suite_bench"] = module
    spec.loader.exec_module(module)
    return module


bench = _load()

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
    assert options.scenarios == ("login", "validate", "me", "refresh", "register")
    assert options.pin


def test_a_subset_of_scenarios_and_no_pinning_can_be_asked_for() -> None:
    options = bench.parse_args(["--scenarios", "refresh, me", "--no-pin", "--duration", "5"])
    assert options.scenarios == ("refresh", "me")
    assert not options.pin
    assert options.duration == 5.0


@pytest.mark.parametrize("argv", [["--scenarios", "logout"], ["--duration", "0"]])
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


def test_wrk_output_without_the_summary_line_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        bench.parse_wrk("Running 12s test\n")
