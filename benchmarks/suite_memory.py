"""Resident memory of the suite's parts, read from a /proc-like folder.

A part is `python -m tessera_<part>` (granian's main process) and its descendants (the workers,
forked: same command line): its figure is the sum of their VmRSS. Pages the processes share
(copy-on-write after the fork, libraries) count once per process, so the sum errs on the high
side, the safe side for a ceiling; the sum of their PSS (shared pages split between the sharers)
is given beside it as what the part really costs.
"""

from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path

import msgspec

PARTS = {
    "tessera_gateway": "gateway",
    "tessera_identity": "identity",
    "tessera_session": "session",
    "tessera_otp_delivery": "otp-delivery",
}
ORDER = ("gateway", "identity", "session", "otp-delivery")
TARGET_MB = 150.0


class Proc(msgspec.Struct, frozen=True, kw_only=True):
    ppid: int
    rss_kb: int
    argv: tuple[str, ...]


class PartMemory(msgspec.Struct, frozen=True, kw_only=True):
    processes: int
    rss_kb: int
    main_kb: int
    """Of which granian's main process (the rest: its workers)."""
    pss_kb: int | None = None
    """None when a process's smaps_rollup could not be read."""

    @property
    def mb(self) -> float:
        """RSS in decimal megabytes (the stricter reading of "MB")."""
        return _mb(self.rss_kb)


def parse_status(text: str) -> tuple[int, int]:
    """(parent PID, VmRSS in kB) from a /proc/PID/status text; no VmRSS (kernel thread,
    zombie) is 0."""
    ppid, rss = -1, 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "PPid":
            ppid = int(value)
        elif key == "VmRSS":
            rss = int(value.split()[0])
    if ppid < 0:
        raise ValueError("no PPid line")
    return ppid, rss


def read_procs(root: Path = Path("/proc")) -> dict[int, Proc]:
    """Every process under `root` that could be read; ones that exit meanwhile are skipped."""
    procs: dict[int, Proc] = {}
    for entry in root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid, rss = parse_status((entry / "status").read_text())
            raw = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        argv = tuple(arg.decode(errors="replace") for arg in raw.split(b"\0") if arg)
        procs[int(entry.name)] = Proc(ppid=ppid, rss_kb=rss, argv=argv)
    return procs


def parse_pss(text: str) -> int:
    """Pss in kB from a /proc/PID/smaps_rollup text."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "Pss":
            return int(value.split()[0])
    raise ValueError("no Pss line")


def read_pss(pids: Iterable[int], root: Path = Path("/proc")) -> dict[int, int]:
    """PSS of the processes that could be read (only these: the kernel walks their pages)."""
    found: dict[int, int] = {}
    for pid in pids:
        try:
            found[pid] = parse_pss((root / str(pid) / "smaps_rollup").read_text())
        except (OSError, ValueError):
            continue
    return found


def descendants(procs: Mapping[int, Proc], pid: int) -> set[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for child, proc in procs.items():
        children.setdefault(proc.ppid, []).append(child)
    found, todo = {pid}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def part_of(argv: Sequence[str]) -> str | None:
    """The part a command line starts (`… -m tessera_session …`), if any.

    A part's main process replaces itself with `-m tessera_shared.granian_main tessera_session
    SPEC` (the same PID): the part's package is the module's first argument.
    """
    for flag, module in pairwise(argv):
        if flag == "-m" and module in PARTS:
            return PARTS[module]
    for module, package in pairwise(argv):
        if module == "tessera_shared.granian_main" and package in PARTS:
            return PARTS[package]
    return None


def part_memory(
    procs: Mapping[int, Proc], runner: int, pss: Mapping[int, int] | None = None
) -> dict[str, PartMemory]:
    """Each part started below `runner`, in ORDER: the sums over its process tree."""
    memory: dict[str, PartMemory] = {}
    for pid in sorted(descendants(procs, runner)):
        name = part_of(procs[pid].argv) if pid in procs else None
        parent = procs[pid].ppid if pid in procs else -1
        if name is None or (parent in procs and part_of(procs[parent].argv) == name):
            continue
        pids = [p for p in descendants(procs, pid) if p in procs]
        known = pss is not None and all(p in pss for p in pids)
        memory[name] = PartMemory(
            processes=len(pids),
            rss_kb=sum(procs[p].rss_kb for p in pids),
            main_kb=procs[pid].rss_kb,
            pss_kb=sum(pss[p] for p in pids) if pss is not None and known else None,
        )
    return {name: memory[name] for name in ORDER if name in memory}


def memory_table(memory: Mapping[str, PartMemory], target_mb: float = TARGET_MB) -> str:
    """Markdown: one line per part, missing parts said so."""
    lines = [
        f"| part | processes | RSS MB | of which main process | PSS MB "
        f"| RSS target <= {target_mb:g} MB |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in ORDER:
        part = memory.get(name)
        if part is None:
            lines.append(f"| {name} | - | - | - | - | not found |")
            continue
        verdict = "ok" if part.mb <= target_mb else "**over**"
        main = _mb(part.main_kb)
        pss = "-" if part.pss_kb is None else f"{_mb(part.pss_kb):.1f}"
        lines.append(
            f"| {name} | {part.processes} | {part.mb:.1f} | {main:.1f} | {pss} | {verdict} |"
        )
    return "\n".join(lines)


def _mb(kb: int) -> float:
    return kb * 1024 / 1e6
