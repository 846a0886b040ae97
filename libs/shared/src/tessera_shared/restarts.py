"""When the dev runner restarts a part that exited on its own, after how long, and when it stops.

Pure: the runner passes the times of earlier restarts and the clock's reading; no processes here.
"""

import signal

import msgspec


class RestartPolicy(msgspec.Struct, frozen=True, kw_only=True):
    limit: int = 5
    """Restarts of one part allowed within `window_s`; the next exit stops the suite."""
    window_s: float = 60.0
    """How far back restarts count toward `limit`."""
    first_delay_s: float = 0.5
    """Wait before the first restart in the window; doubled for each further one."""
    max_delay_s: float = 8.0
    """The longest wait before a restart."""


class Restart(msgspec.Struct, frozen=True, kw_only=True):
    """Start the part again after `delay_s`; `count`: its restarts since the runner started."""

    count: int
    delay_s: float


class GiveUp(msgspec.Struct, frozen=True, kw_only=True):
    """The part keeps dying: `restarts` within the policy's window already, stop the suite."""

    restarts: int


def decide(policy: RestartPolicy, restarted_at: tuple[float, ...], now: float) -> Restart | GiveUp:
    """The answer to an unexpected exit at `now`, given the times of the part's earlier restarts."""
    recent = sum(1 for at in restarted_at if now - at < policy.window_s)
    if recent >= policy.limit:
        return GiveUp(restarts=recent)
    delay = min(policy.max_delay_s, policy.first_delay_s * 2**recent)
    return Restart(count=len(restarted_at) + 1, delay_s=delay)


def describe_exit(returncode: int) -> str:
    """`status 3`, or `killed by SIGKILL` for a process ended by a signal (negative code)."""
    if returncode >= 0:
        return f"status {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def restart_line(name: str, returncode: int, restart: Restart, policy: RestartPolicy) -> str:
    """The one log line of a restart: which part, how it ended, which restart, when."""
    return (
        f"run: {name} exited unexpectedly ({describe_exit(returncode)}); "
        f"restart {restart.count} in {restart.delay_s:g} s "
        f"(at most {policy.limit} within {policy.window_s:.0f} s)"
    )


def give_up_line(name: str, returncode: int, give_up: GiveUp, policy: RestartPolicy) -> str:
    """Why the runner stops the suite instead of restarting the part once more."""
    return (
        f"{name} exited again ({describe_exit(returncode)}) after {give_up.restarts} restarts "
        f"within {policy.window_s:.0f} s; stopping the suite (see its log lines above)"
    )
