"""Each part's RSS: its process tree found below the runner and summed, from /proc."""

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.suite_memory import (
    PartMemory,
    descendants,
    memory_table,
    parse_pss,
    parse_status,
    part_memory,
    part_of,
    read_procs,
    read_pss,
)

pytestmark = pytest.mark.unit

PY = "/usr/bin/python3"


def _proc(root: Path, pid: int, ppid: int, rss_kb: int | None, *argv: str) -> None:
    folder = root / str(pid)
    folder.mkdir()
    rss = "" if rss_kb is None else f"VmRSS:\t{rss_kb:8d} kB\n"
    (folder / "status").write_text(f"Name:\tx\nState:\tS\nPPid:\t{ppid}\nVmPeak:\t1 kB\n{rss}")
    (folder / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    if rss_kb is not None:  # half of it shared with another process
        rollup = f"00400000-7fff [rollup]\nRss:\t{rss_kb} kB\nPss:\t{rss_kb // 2} kB\n"
        (folder / "smaps_rollup").write_text(rollup)


@pytest.fixture
def fake_proc(tmp_path: Path) -> Path:
    """run_local.py (100) with session (101, one worker), gateway (110, two workers forked, so
    with its command line), a PostgreSQL (120) and a kernel thread; plus a gateway started by
    someone else (300)."""
    _proc(tmp_path, 1, 0, 5_000, "/sbin/init")
    _proc(tmp_path, 100, 1, 30_000, PY, "tools/run_local.py")
    _proc(tmp_path, 101, 100, 35_000, PY, "-m", "tessera_session")
    _proc(tmp_path, 102, 101, 150_000, PY, "-c", "from multiprocessing.spawn import spawn_main")
    _proc(tmp_path, 110, 100, 40_000, PY, "-m", "tessera_gateway")
    _proc(tmp_path, 111, 110, 60_000, PY, "-m", "tessera_gateway")
    _proc(tmp_path, 112, 110, 61_000, PY, "-m", "tessera_gateway")
    _proc(tmp_path, 120, 100, 20_000, "postgres", "-D", "data")
    _proc(tmp_path, 130, 100, None)
    _proc(tmp_path, 300, 1, 99_000, PY, "-m", "tessera_gateway")
    (tmp_path / "self").mkdir()
    (tmp_path / "999").mkdir()  # exited between the listing and the read
    return tmp_path


def test_status_gives_the_parent_and_the_resident_kilobytes() -> None:
    text = "Name:\tgranian\nPPid:\t4242\nVmRSS:\t  123456 kB\nThreads:\t3\n"
    assert parse_status(text) == (4242, 123456)
    assert parse_status("PPid:\t2\n") == (2, 0)
    with pytest.raises(ValueError, match="PPid"):
        parse_status("Name:\tx\n")


def test_a_part_is_named_by_the_module_its_command_line_runs() -> None:
    assert part_of([PY, "-m", "tessera_otp_delivery"]) == "otp-delivery"
    assert part_of([PY, "-m", "pytest"]) is None
    assert part_of([PY, "tessera_gateway"]) is None
    assert part_of([]) is None


def test_processes_that_cannot_be_read_are_skipped(fake_proc: Path) -> None:
    procs = read_procs(fake_proc)
    assert sorted(procs) == [1, 100, 101, 102, 110, 111, 112, 120, 130, 300]
    assert procs[130].argv == ()
    assert procs[130].rss_kb == 0
    assert descendants(procs, 110) == {110, 111, 112}


def test_each_part_sums_its_main_process_and_workers(fake_proc: Path) -> None:
    procs = read_procs(fake_proc)
    memory = part_memory(procs, 100, read_pss(procs, fake_proc))
    assert list(memory) == ["gateway", "session"]  # the table's order, not the PIDs'
    assert memory == {
        "gateway": PartMemory(processes=3, rss_kb=161_000, main_kb=40_000, pss_kb=80_500),
        "session": PartMemory(processes=2, rss_kb=185_000, main_kb=35_000, pss_kb=92_500),
    }


def test_pss_is_left_out_when_a_process_of_the_part_could_not_be_read(fake_proc: Path) -> None:
    procs = read_procs(fake_proc)
    (fake_proc / "112" / "smaps_rollup").unlink()
    memory = part_memory(procs, 100, read_pss(procs, fake_proc))
    assert memory["gateway"].pss_kb is None
    assert memory["session"].pss_kb == 92_500
    assert part_memory(procs, 100)["session"].pss_kb is None
    assert parse_pss("Rss:\t10 kB\nPss:\t  7 kB\nPss_Anon:\t3 kB\n") == 7


def test_the_table_flags_parts_over_the_target_and_names_missing_ones(fake_proc: Path) -> None:
    procs = read_procs(fake_proc)
    table = memory_table(part_memory(procs, 100, read_pss(procs, fake_proc))).splitlines()
    assert table[0] == (
        "| part | processes | RSS MB | of which main process | PSS MB | RSS target <= 150 MB |"
    )
    assert table[2] == "| gateway | 3 | 164.9 | 41.0 | 82.4 | **over** |"
    assert table[3] == "| identity | - | - | - | - | not found |"
    assert table[4] == "| session | 2 | 189.4 | 35.8 | 94.7 | **over** |"
    small = {"gateway": PartMemory(processes=2, rss_kb=146_000, main_kb=50_000)}
    assert memory_table(small).splitlines()[2] == "| gateway | 2 | 149.5 | 51.2 | - | ok |"


def test_a_real_process_tree_is_found_and_summed() -> None:
    """A stand-in part (its argv says `-m tessera_session`) whose worker holds 40 MB."""
    worker = "import time; b = b'x' * 40_000_000; print('ready', flush=True); time.sleep(60)"
    main = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {worker!r}])"
    part = subprocess.Popen(
        [sys.executable, "-c", main, "-m", "tessera_session"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert part.stdout is not None
        ready, _, _ = select.select([part.stdout], [], [], 60)
        assert ready, "the worker never said it was ready"
        assert part.stdout.readline() == b"ready\n"
        procs = read_procs()
        memory = part_memory(procs, os.getpid(), read_pss(descendants(procs, part.pid)))
        assert memory["session"].processes == 2
        worker_pid = next(p for p in descendants(procs, part.pid) if p != part.pid)
        assert memory["session"].rss_kb == procs[part.pid].rss_kb + procs[worker_pid].rss_kb
        assert memory["session"].mb > 40
        assert memory["session"].pss_kb is not None
        assert 40_000 < memory["session"].pss_kb <= memory["session"].rss_kb
    finally:
        os.killpg(part.pid, signal.SIGKILL)
        part.wait()


def test_a_part_main_process_after_exec_into_granian_main_is_found_by_its_package() -> None:
    spec = '{"name":"tessera-otp-delivery","factory":"x:y","host":"127.0.0.1","port":1}'
    granian_main = [PY, "-m", "tessera_shared.granian_main"]
    assert part_of([*granian_main, "tessera_otp_delivery", spec]) == "otp-delivery"
    assert part_of([*granian_main, "tessera_nothing", spec]) is None
    assert part_of(granian_main) is None
