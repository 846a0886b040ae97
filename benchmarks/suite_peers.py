"""Tessera's figures against the shared peer harness's (../shared/peers, JSONL from loadgen.py).

Issue 16's targets are ratios of successful requests per second, ours over the peer's median
over every run in the files given (run_all.sh writes one file per peer per run).
"""

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import msgspec


class PeerRow(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of a loadgen.py result line this comparison reads (others are ignored)."""

    label: str
    scenario: str
    rps: float
    ok_rps: float | None = None
    non2xx: int = 0
    socket_errors: int = 0
    started_utc: str = ""

    @property
    def ok(self) -> float:
        return self.rps if self.ok_rps is None else self.ok_rps


class Target(msgspec.Struct, frozen=True, kw_only=True):
    ours: str
    """Our scenario (suite_bench.SCENARIOS)."""
    peer: str
    """A regular expression the peer's whole label must match."""
    peer_scenario: str
    factor: float
    what: str


TARGETS = (
    Target(
        ours="login",
        peer=r"fastapi-users/jwt",
        peer_scenario="login",
        factor=1.8,
        what="login vs fastapi-users login",
    ),
    Target(
        ours="validate",
        peer=r"fastapi-users/db-token",
        peer_scenario="validate",
        factor=3.0,
        what="validate-session vs fastapi-users session check (DB token)",
    ),
    Target(
        ours="validate",
        peer=r"better-auth\[[^\]/]+\]",
        peer_scenario="validate",
        factor=3.0,
        what="validate-session vs better-auth get-session",
    ),
    Target(
        ours="me",
        peer=r"fastapi-users/jwt",
        peer_scenario="validate",
        factor=1.5,
        what="/v1/users/me vs fastapi-users /users/me (JWT)",
    ),
    Target(
        ours="refresh",
        peer=r"better-auth\[[^\]/]+\]/session-refresh.*",
        peer_scenario="refresh",
        factor=2.0,
        what="refresh vs better-auth session refresh",
    ),
    Target(
        ours="register",
        peer=r"fastapi-users(/jwt)?",
        peer_scenario="register",
        factor=1.5,
        what="register vs fastapi-users register",
    ),
)


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    target: Target
    ours: float | None
    peer_label: str | None = None
    peer: float | None = None
    runs: int = 0

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.peer:
            return None
        return self.ours / self.peer


_ROW = msgspec.json.Decoder(PeerRow)


def load_peer_rows(paths: Iterable[Path]) -> list[PeerRow]:
    """Every result line of the files; a line that is not one is an error naming it."""
    rows: list[PeerRow] = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(_ROW.decode(line))
            except msgspec.DecodeError as exc:
                raise ValueError(f"{path}:{number}: not a loadgen.py result: {exc}") from None
    return rows


def compare(
    ours: Mapping[str, float],
    rows: Sequence[PeerRow],
    targets: Sequence[Target] = TARGETS,
) -> list[Comparison]:
    """One comparison per target and matching peer label (median over its runs); a target
    with no peer row, or a scenario we did not measure, still gets its line."""
    comparisons: list[Comparison] = []
    for target in targets:
        pattern = re.compile(target.peer)
        groups: dict[str, list[float]] = {}
        for row in rows:
            if row.scenario == target.peer_scenario and pattern.fullmatch(row.label):
                groups.setdefault(row.label, []).append(row.ok)
        mine = ours.get(target.ours)
        if not groups:
            comparisons.append(Comparison(target=target, ours=mine))
        for label, figures in sorted(groups.items()):
            comparisons.append(
                Comparison(
                    target=target,
                    ours=mine,
                    peer_label=label,
                    peer=statistics.median(figures),
                    runs=len(figures),
                )
            )
    return comparisons


def comparison_table(comparisons: Sequence[Comparison]) -> str:
    """Markdown: ours, the peer's median, the ratio and whether it meets the target."""
    lines = [
        "| target | ours ok req/s | peer | peer ok req/s (median) | runs | ratio | verdict |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for c in comparisons:
        ours = "not measured" if c.ours is None else f"{c.ours:.0f}"
        peer = "no result" if c.peer is None else f"{c.peer:.1f}"
        ratio = c.ratio
        verdict = (
            "-" if ratio is None else ("ok" if ratio >= c.target.factor else "**below target**")
        )
        shown = "-" if ratio is None else f"{ratio:.2f}x"
        lines.append(
            f"| {c.target.what} (>= {c.target.factor:g}x) | {ours} | {c.peer_label or '-'} "
            f"| {peer} | {c.runs} | {shown} | {verdict} |"
        )
    return "\n".join(lines)
