"""The soak's plan and verdict: rounds of mixed load, each part's RSS sampled between rounds.

A part whose RSS at the end exceeds its RSS after the warm-up by more than GROWTH_LIMIT_PCT
is flagged: memory that keeps growing under a steady load is a leak or an unbounded cache.
"""

import statistics
from collections.abc import Mapping, Sequence

import msgspec

SAMPLE_EVERY_S = 30
GROWTH_LIMIT_PCT = 5.0
MIX = {"validate": 8, "me": 8, "refresh": 8, "login": 1}
"""Connections per load of the mix; all four run at once, each its own wrk."""
LOGIN_PACE_MS = 500
"""The login connection waits this long before each request: a few sign-ins a second."""


class Drift(msgspec.Struct, frozen=True, kw_only=True):
    part: str
    start_kb: int
    end_kb: int
    max_kb: int

    @property
    def growth_pct(self) -> float:
        return (self.end_kb - self.start_kb) / self.start_kb * 100 if self.start_kb else 0.0

    @property
    def flagged(self) -> bool:
        return self.growth_pct > GROWTH_LIMIT_PCT


class RoundFigures(msgspec.Struct, frozen=True, kw_only=True):
    """One wrk run of one load in one round."""

    requests: int
    seconds: float
    non2xx: int
    socket: int
    """Connect, read, write errors and timeouts."""
    p50_ms: float
    p99_ms: float


class LoadTotal(msgspec.Struct, frozen=True, kw_only=True):
    """One load of the mix summed over the rounds."""

    load: str
    connections: int
    requests: int
    seconds: float
    non2xx: int
    socket: int
    p50_ms: float
    """The median of the rounds' medians."""
    worst_p99_ms: float


def rounds(total_s: int, every_s: int = SAMPLE_EVERY_S) -> list[int]:
    """Round lengths covering `total_s`: full `every_s` rounds, then the rest (whole seconds:
    wrk takes no fractions)."""
    full, rest = divmod(max(total_s, 0), every_s)
    return [every_s] * full + ([rest] if rest else [])


def drift(samples: Sequence[Mapping[str, int]]) -> list[Drift]:
    """Per part found in the first sample: first, last and largest RSS (kB) over the samples."""
    if not samples:
        return []
    found: list[Drift] = []
    for part, start in samples[0].items():
        seen = [s[part] for s in samples if part in s]
        found.append(Drift(part=part, start_kb=start, end_kb=seen[-1], max_kb=max(seen)))
    return found


def total(load: str, connections: int, runs: Sequence[RoundFigures]) -> LoadTotal:
    return LoadTotal(
        load=load,
        connections=connections,
        requests=sum(r.requests for r in runs),
        seconds=sum(r.seconds for r in runs),
        non2xx=sum(r.non2xx for r in runs),
        socket=sum(r.socket for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs) if runs else 0.0,
        worst_p99_ms=max((r.p99_ms for r in runs), default=0.0),
    )


def drift_table(drifts: Sequence[Drift]) -> str:
    """Markdown: start (after the warm-up), end, growth, max; growth over the limit flagged."""
    lines = [
        "| part | start MB | end MB | growth | max MB | verdict |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for d in drifts:
        verdict = f"**grew > {GROWTH_LIMIT_PCT:g} %**" if d.flagged else "ok"
        lines.append(
            f"| {d.part} | {_mb(d.start_kb):.1f} | {_mb(d.end_kb):.1f} | {d.growth_pct:+.1f} % "
            f"| {_mb(d.max_kb):.1f} | {verdict} |"
        )
    return "\n".join(lines)


def load_table(totals: Sequence[LoadTotal]) -> str:
    lines = [
        "| load | conns | req/s | requests | non-2xx | socket errors | p50 ms (median round) "
        "| p99 ms (worst round) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in totals:
        rps = t.requests / t.seconds if t.seconds else 0.0
        lines.append(
            f"| {t.load} | {t.connections} | {rps:.0f} | {t.requests} | {t.non2xx} | {t.socket} "
            f"| {t.p50_ms:.2f} | {t.worst_p99_ms:.2f} |"
        )
    return "\n".join(lines)


def _mb(kb: int) -> float:
    return kb * 1024 / 1e6
