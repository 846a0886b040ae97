"""The soak's rounds, its RSS drift per part and its tables."""

import pytest

from benchmarks.suite_soak import (
    Drift,
    RoundFigures,
    drift,
    drift_table,
    load_table,
    rounds,
    total,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("seconds", "lengths"),
    [
        (600, [30] * 20),
        (65, [30, 30, 5]),
        (61, [30, 30, 1]),
        (10, [10]),
        (0, []),
    ],
)
def test_the_soak_runs_in_rounds_of_the_sampling_interval(seconds: int, lengths: list[int]) -> None:
    assert rounds(seconds) == lengths


def test_growth_is_end_over_start_and_the_max_is_over_every_sample() -> None:
    samples = [
        {"gateway": 100_000, "session": 80_000},
        {"gateway": 112_000, "session": 80_400},
        {"gateway": 106_000, "session": 81_000, "identity": 50_000},
    ]
    found = drift(samples)
    assert found == [
        Drift(part="gateway", start_kb=100_000, end_kb=106_000, max_kb=112_000),
        Drift(part="session", start_kb=80_000, end_kb=81_000, max_kb=81_000),
    ]
    assert found[0].growth_pct == pytest.approx(6.0)
    assert found[0].flagged
    assert found[1].growth_pct == pytest.approx(1.25)
    assert not found[1].flagged
    assert drift([]) == []


def test_the_drift_table_flags_growth_over_five_percent() -> None:
    table = drift_table(
        [
            Drift(part="gateway", start_kb=100_000, end_kb=106_000, max_kb=112_000),
            Drift(part="session", start_kb=80_000, end_kb=79_000, max_kb=81_000),
        ]
    ).splitlines()
    assert table[0] == "| part | start MB | end MB | growth | max MB | verdict |"
    assert table[2] == "| gateway | 102.4 | 108.5 | +6.0 % | 114.7 | **grew > 5 %** |"
    assert table[3] == "| session | 81.9 | 80.9 | -1.2 % | 82.9 | ok |"


def test_a_load_sums_its_rounds_and_keeps_the_worst_tail() -> None:
    runs = [
        RoundFigures(requests=3000, seconds=30.0, non2xx=0, socket=1, p50_ms=4.0, p99_ms=20.0),
        RoundFigures(requests=2700, seconds=30.0, non2xx=2, socket=0, p50_ms=5.0, p99_ms=45.0),
        RoundFigures(requests=300, seconds=5.0, non2xx=0, socket=0, p50_ms=9.0, p99_ms=30.0),
    ]
    summed = total("validate", 8, runs)
    assert (summed.requests, summed.seconds, summed.non2xx, summed.socket) == (6000, 65.0, 2, 1)
    assert (summed.p50_ms, summed.worst_p99_ms) == (5.0, 45.0)
    assert (
        load_table([summed]).splitlines()[2]
        == "| validate | 8 | 92 | 6000 | 2 | 1 | 5.00 | 45.00 |"
    )
