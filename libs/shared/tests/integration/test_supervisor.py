"""The dev runner's supervisor over real child processes: a tiny stand-in program as the part."""

import io
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tessera_shared.devstack import Part, PartKeptFailingError, PartProcess, Supervisor
from tessera_shared.restarts import RestartPolicy

# Exits with the status given for its n-th run (one per line of STANDIN_EXITS), or runs on
# when there is no line for it; every start leaves its pid in STANDIN_RUNS.
STANDIN = """
import os, pathlib, sys, time
runs = pathlib.Path(os.environ["STANDIN_RUNS"])
with runs.open("a") as out:
    out.write(f"{os.getpid()}\\n")
n = len(runs.read_text().split())
exits = os.environ["STANDIN_EXITS"].split()
if n <= len(exits):
    sys.exit(int(exits[n - 1]))
time.sleep(60)
"""

FAST = RestartPolicy(limit=2, window_s=60, first_delay_s=0.05, max_delay_s=0.1)


def standin(tmp_path: Path, exits: str) -> PartProcess:
    (tmp_path / "standin_part.py").write_text(STANDIN)
    env = {
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "STANDIN_RUNS": str(tmp_path / "runs"),
        "STANDIN_EXITS": exits,
    }
    return PartProcess(Part("standin", "standin_part", "STANDIN_", 1), env, tmp_path / "out")


@pytest.fixture
def processes() -> Iterator[list[PartProcess]]:
    started: list[PartProcess] = []
    yield started
    for process in started:
        process.stop()


def runs(tmp_path: Path) -> list[str]:
    path = tmp_path / "runs"
    return path.read_text().split() if path.exists() else []


def supervise(supervisor: Supervisor, until: Callable[[], bool], within: float = 10) -> None:
    """Let the supervisor look at its parts, as the runner's loop does, until `until()`."""
    deadline = time.monotonic() + within
    while not until() and time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.02)


def test_a_part_that_exits_is_started_again_with_one_line_saying_so(
    tmp_path: Path, processes: list[PartProcess]
):
    part = standin(tmp_path, exits="3")
    processes.append(part)
    part.start()
    log = io.StringIO()
    supervisor = Supervisor([part], FAST, log)
    supervise(supervisor, until=lambda: len(runs(tmp_path)) == 2)
    assert len(runs(tmp_path)) == 2
    assert log.getvalue() == (
        "run: standin exited unexpectedly (status 3); restart 1 in 0.05 s (at most 2 within 60 s)\n"
    )
    time.sleep(0.3)
    supervisor.check()
    assert part.exited() is None  # the second run keeps running: no further restart
    assert part.pid == int(runs(tmp_path)[1])
    assert log.getvalue().count("\n") == 1
    os.kill(part.pid, signal.SIGTERM)  # started again, it still obeys a stop
    deadline = time.monotonic() + 2
    while part.exited() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert part.exited() == -signal.SIGTERM


def test_a_part_that_keeps_exiting_stops_the_supervision_with_a_message_naming_it(
    tmp_path: Path, processes: list[PartProcess]
):
    part = standin(tmp_path, exits="1 1 1 1")
    processes.append(part)
    part.start()
    log = io.StringIO()
    supervisor = Supervisor([part], FAST, log)
    with pytest.raises(PartKeptFailingError) as failed:
        supervise(supervisor, until=lambda: False)
    assert str(failed.value) == (
        "standin exited again (status 1) after 2 restarts within 60 s; "
        "stopping the suite (see its log lines above)"
    )
    assert len(runs(tmp_path)) == 3  # the first run and two restarts
    assert [line.split(";")[1] for line in log.getvalue().splitlines()] == [
        " restart 1 in 0.05 s (at most 2 within 60 s)",
        " restart 2 in 0.1 s (at most 2 within 60 s)",
    ]
    assert part.pid is None  # the last run was reaped, nothing left to stop
