"""`make bench`: the suite started as `make run` starts it, loaded with wrk through the gateway.

    .venv/bin/python benchmarks/suite_bench.py [--duration 12] [--warmup 3] [--scenarios login,me]

Same footing as the shared peer harness (run_tessera.sh): every server process pinned to one CPU
and wrk to another (2+ CPUs), closed loop, keep-alive, one wrk thread, 8 connections for the
argon2-bound scenarios and 32 for the others; rate limits off and lockout thresholds raised (the
peers have neither). Own data folder and free ports, so a running `make run` is left alone.
Prints a Markdown table and the conditions; stops everything it started.
"""

import argparse
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from tessera_shared.devservers.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("suite_bench.lua")
PASSWORD = "Bench-Password-123"
SCENARIOS = ("login", "validate", "me", "refresh", "register")
HASH_BOUND = frozenset({"login", "register"})
TITLES = {
    "login": "POST /auth/login (password)",
    "validate": "GET /auth/validate-session",
    "me": "GET /v1/users/me",
    "refresh": "POST /auth/login/refresh (rotation)",
    "register": "POST /auth/register + code delivered",
}
# As run_tessera.sh: the peers have no rate limits and no lockout. Tessera counts in-flight
# attempts toward the lockout, so 8 parallel correct logins of one account would trip it.
LOAD_SETTINGS = {
    "TESSERA_GATEWAY_RATE_LIMITS_ENABLED": "false",
    "TESSERA_IDENTITY_CODES_PER_IP_PER_HOUR": "100000000",
    "TESSERA_IDENTITY_LOCKOUT_IP_FAILURES": "100000",
    "TESSERA_IDENTITY_LOCKOUT_ACCOUNT_FAILURES": "100000",
}


class Options(msgspec.Struct, frozen=True, kw_only=True):
    duration: float = 12.0
    warmup: float = 3.0
    conn_hash: int = 8
    conn_fast: int = 32
    scenarios: tuple[str, ...] = SCENARIOS
    pin: bool = True
    wrk: str = "wrk"


class Result(msgspec.Struct, frozen=True, kw_only=True):
    """One measured wrk run, as suite_bench.lua's done() reports it."""

    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    connect: int = 0
    read: int = 0
    write: int = 0
    status: int = 0
    timeout: int = 0
    rotated: int = 0
    lost: int = 0
    starved: int = 0


class Row(msgspec.Struct, frozen=True, kw_only=True):
    scenario: str
    connections: int
    result: Result
    foreign_pct: float
    note: str = ""


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--duration", type=float, default=12.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds")
    parser.add_argument("--conn-hash", type=int, default=8, help="connections: login, register")
    parser.add_argument("--conn-fast", type=int, default=32, help="connections: the others")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--no-pin", action="store_true", help="no taskset pinning")
    parser.add_argument("--wrk", default="wrk", help="wrk binary")
    args = parser.parse_args(argv)
    chosen = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown or not chosen:
        parser.error(f"--scenarios: pick from {', '.join(SCENARIOS)}; got {args.scenarios!r}")
    if args.duration <= 0 or args.warmup < 0 or min(args.conn_hash, args.conn_fast) < 1:
        parser.error("durations must be positive and connections at least 1")
    return Options(
        duration=args.duration,
        warmup=args.warmup,
        conn_hash=args.conn_hash,
        conn_fast=args.conn_fast,
        scenarios=chosen,
        pin=not args.no_pin,
        wrk=args.wrk,
    )


def parse_wrk(output: str) -> Result:
    """The WRKJSON line suite_bench.lua prints at the end of a run."""
    for line in output.splitlines():
        if line.startswith("WRKJSON "):
            return msgspec.json.decode(line[len("WRKJSON ") :], type=Result)
    raise RuntimeError(f"wrk printed no WRKJSON line:\n{output}")


def errors_of(row: Row) -> str:
    r = row.result
    parts = [f"{r.status} non-2xx"] if r.status else []
    socket = r.connect + r.read + r.write + r.timeout
    if socket:
        parts.append(f"{socket} socket")
    if row.scenario == "refresh":
        parts.append(f"{r.lost} lost rotations")
    return ", ".join(parts) or "0"


def format_table(rows: Sequence[Row]) -> str:
    """Markdown: one line per scenario, as the peer harness's report.py lays it out."""
    lines = [
        "| scenario | conns | req/s | p50 ms | p99 ms | requests | errors | foreign CPU | note |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for row in rows:
        r = row.result
        lines.append(
            f"| {TITLES.get(row.scenario, row.scenario)} | {row.connections} | {r.rps:.0f} "
            f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.requests} | {errors_of(row)} "
            f"| {row.foreign_pct:.0f} % | {row.note} |"
        )
    return "\n".join(lines)


def pinning(cpus: Sequence[int], pin: bool) -> tuple[str | None, str | None]:
    """(load generator CPU, server CPU) like the harness: first and second allowed CPU."""
    if not pin or len(cpus) < 2 or shutil.which("taskset") is None:
        return None, None
    ordered = sorted(cpus)
    return str(ordered[0]), str(ordered[1])


# ---------------------------------------------------------------- I/O from here on


def _http(
    method: str, url: str, body: Mapping[str, object] | None = None, token: str = ""
) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class Suite:
    """`tools/run_local.py` in its own session, data folder and ports; SIGINT stops it all."""

    def __init__(self, folder: Path, server_cpu: str | None) -> None:
        self.folder = folder
        self.log = folder / "suite.log"
        names = ("GATEWAY", "IDENTITY", "SESSION", "OTP")
        self.ports = {name: free_port() for name in names}
        deps = ("POSTGRES", "REDIS", "NATS")
        self.env = {
            **os.environ,
            **{f"TESSERA_{name}_PORT": str(port) for name, port in self.ports.items()},
            **{f"TESSERA_DEV_{name}_PORT": str(free_port()) for name in deps},
            "TESSERA_DEV_DATA_DIR": str(folder / "data"),
            **LOAD_SETTINGS,
        }
        for name in deps:  # ours, never the developer's own servers
            self.env.pop(f"TESSERA_DEV_{name}_URL", None)
        self.server_cpu = server_cpu
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports['GATEWAY']}"

    def start(self, timeout: float = 300) -> None:
        command = [sys.executable, str(ROOT / "tools" / "run_local.py")]
        if self.server_cpu is not None:
            command = ["taskset", "-c", self.server_cpu, *command]
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the suite exited early; see {self.log}")
            try:
                if _http("GET", f"{self.base}/health/ready")[0] == 200:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the suite was not ready in {timeout:.0f} s; see {self.log}")

    def pids(self) -> list[int]:
        """run_local.py and every descendant (parts, PostgreSQL, Redis, NATS)."""
        if self.process is None:
            return []
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        ours = {self.process.pid}
        grew = True
        while grew:
            more = {pid for pid, ppid in parents.items() if ppid in ours} - ours
            ours |= more
            grew = bool(more)
        return sorted(ours)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # run_local.py stops parts, then servers
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _cpu_ticks(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def _busy_ticks() -> int:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


def _children_ticks() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, options: Options, suite: Suite, wrk_cpu: str | None) -> None:
        self.o = options
        self.suite = suite
        self.wrk_cpu = wrk_cpu
        self.run_id = f"bench-{int(time.time())}-{secrets.token_hex(3)}"

    def user(self, scenario: str) -> str:
        """One account per scenario, so a lockout in one cannot spoil the next."""
        email = f"{self.run_id}-{scenario}@example.com"
        status, answer = _http("POST", f"{self.suite.base}/auth/register", self._signup(email))
        if status != 200:
            raise RuntimeError(f"register {email}: HTTP {status} {answer}")
        return email

    def login(self, email: str) -> dict[str, object]:
        status, answer = _http(
            "POST", f"{self.suite.base}/auth/login", {"email": email, "password": PASSWORD}
        )
        if status != 200 or "idToken" not in answer:
            raise RuntimeError(f"login {email}: HTTP {status} {answer}")
        return answer

    @staticmethod
    def _signup(email: str) -> dict[str, object]:
        return {
            "email": email,
            "password": PASSWORD,
            "termsAccepted": True,
            "privacyPolicyAccepted": True,
        }

    def wrk(self, seconds: float, connections: int, env: Mapping[str, str]) -> Result:
        command = [
            self.o.wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            self.suite.base,
        ]
        if self.wrk_cpu is not None:
            command = ["taskset", "-c", self.wrk_cpu, *command]
        done = subprocess.run(
            command, env={**os.environ, **env}, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}")
        return parse_wrk(done.stdout)

    def measure(
        self,
        scenario: str,
        connections: int,
        env: Mapping[str, str],
        warm_env: Mapping[str, str] | None = None,
    ) -> Row:
        if self.o.warmup > 0:
            self.wrk(self.o.warmup, connections, env if warm_env is None else warm_env)
        own = self.suite.pids()
        busy, mine, children = _busy_ticks(), float(_cpu_ticks(own)), _children_ticks()
        result = self.wrk(self.o.duration, connections, env)
        busy = _busy_ticks() - busy
        mine = _cpu_ticks(own) - mine + _children_ticks() - children
        foreign = max(0.0, (busy - mine) / (result.duration_s * os.sysconf("SC_CLK_TCK")) * 100)
        return Row(scenario=scenario, connections=connections, result=result, foreign_pct=foreign)

    def run(self, scenario: str) -> Row:
        connections = self.o.conn_hash if scenario in HASH_BOUND else self.o.conn_fast
        if scenario == "register":
            return self._register(connections)
        email = self.user(scenario)
        if scenario == "login":
            body = json.dumps({"email": email, "password": PASSWORD})
            env = {"BENCH_MODE": "static", "BENCH_METHOD": "POST", "BENCH_PATH": "/auth/login"}
            return self.measure(scenario, connections, {**env, "BENCH_BODY": body, **_JSON})
        if scenario == "refresh":
            return self._refresh(email, connections)
        path = "/auth/validate-session" if scenario == "validate" else "/v1/users/me"
        token = str(self.login(email)["idToken"])
        status, answer = _http("GET", f"{self.suite.base}{path}", token=token)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status} {answer}")
        env = {
            "BENCH_MODE": "static",
            "BENCH_PATH": path,
            "BENCH_HEADERS": f"Authorization: Bearer {token}",
        }
        return self.measure(scenario, connections, env)

    def _refresh(self, email: str, connections: int) -> Row:
        # Each connection rotates its own family: one login per connection (+2: wrk builds one
        # request per thread at start-up that is never sent). Warm-up and run get fresh seeds.
        def seeds() -> str:
            tokens = [str(self.login(email)["refreshToken"]) for _ in range(connections + 2)]
            seed = self.suite.folder / f"seeds-{secrets.token_hex(4)}.txt"
            seed.write_text("\n".join(tokens) + "\n")
            return str(seed)

        env = {
            "BENCH_MODE": "refresh",
            "BENCH_METHOD": "POST",
            "BENCH_PATH": "/auth/login/refresh",
            "BENCH_BODY": '{"refreshToken":"{refresh}"}',
            **_JSON,
        }
        warm = {**env, "BENCH_SEEDS_FILE": seeds()} if self.o.warmup > 0 else None
        return self.measure("refresh", connections, {**env, "BENCH_SEEDS_FILE": seeds()}, warm)

    def _register(self, connections: int) -> Row:
        prefix = f"{self.run_id}-reg"
        body = json.dumps(self._signup("{email}"))
        env = {
            "BENCH_MODE": "register",
            "BENCH_METHOD": "POST",
            "BENCH_PATH": "/auth/register",
            "BENCH_BODY": body,
            "BENCH_RUN_ID": prefix,
            **_JSON,
        }
        warm = {**env, "BENCH_RUN_ID": f"{self.run_id}-warm"}
        row = self.measure("register", connections, env, warm)
        # The code leaves through the outbox and NATS; otp-delivery's console provider prints it.
        expected = row.result.requests - row.result.status
        pattern = re.compile(rf"=== email to {re.escape(prefix)}-")
        delivered, last_change, seen = 0, time.monotonic(), -1
        while time.monotonic() - last_change < 10:
            delivered = len(pattern.findall(self.suite.log.read_text(errors="replace")))
            if delivered != seen:
                seen, last_change = delivered, time.monotonic()
            if delivered >= expected:
                break
            time.sleep(0.5)
        note = f"codes delivered: {delivered} (answered 200 within the run: {expected})"
        return msgspec.structs.replace(row, note=note)


_JSON = {"BENCH_HEADERS": "Content-Type: application/json"}


def conditions(options: Options, wrk_cpu: str | None, server_cpu: str | None) -> str:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    wrk_version = subprocess.run(
        [options.wrk, "--version"], capture_output=True, text=True, check=False
    ).stdout.split(" [", 1)[0]
    pinned = (
        f"server processes on CPU {server_cpu}, wrk on CPU {wrk_cpu} (taskset)"
        if server_cpu is not None
        else "none"
    )
    return "\n".join(
        [
            f"- date: {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}, commit {commit}",
            f"- host: {os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}",
            f"- pinning: {pinned}",
            f"- load: {wrk_version.strip()}, 1 thread, closed loop, keep-alive, "
            f"{options.conn_hash} connections for login/register, {options.conn_fast} for the "
            f"others; warm-up {options.warmup:g} s, measured {options.duration:g} s",
            "- suite: tools/run_local.py (as `make run`) with its own data folder and ports; "
            "rate limits off, lockout thresholds raised to 100000, codes per IP per hour "
            "100000000 (like the peer harness: the peers have neither)",
            "- foreign CPU: % of one CPU used by processes other than the suite and wrk during "
            "the measured run (other work on this machine)",
        ]
    )


def main(argv: Sequence[str]) -> int:
    options = parse_args(argv)
    if shutil.which(options.wrk) is None:
        print(
            "bench: wrk is not installed. Debian/Ubuntu: `sudo apt-get install wrk`; macOS: "
            "`brew install wrk`; or build it from https://github.com/wg/wrk.",
            file=sys.stderr,
        )
        return 2
    wrk_cpu, server_cpu = pinning(sorted(os.sched_getaffinity(0)), options.pin)
    folder = Path(tempfile.mkdtemp(prefix="tessera-suite-bench-"))
    suite = Suite(folder, server_cpu)
    rows: list[Row] = []
    try:
        print(f"bench: starting the suite (log {suite.log}); rate limits off, lockout raised")
        suite.start()
        bench = Bench(options, suite, wrk_cpu)
        for scenario in options.scenarios:
            print(f"bench: {scenario}…", flush=True)
            try:
                rows.append(bench.run(scenario))
            except RuntimeError as exc:
                print(f"bench: {scenario} failed: {exc}", file=sys.stderr)
    except (RuntimeError, KeyboardInterrupt) as exc:
        print(f"bench: {exc or 'interrupted'}", file=sys.stderr)
    finally:
        suite.stop()
    print()
    print(conditions(options, wrk_cpu, server_cpu))
    print()
    print(format_table(rows))
    if len(rows) == len(options.scenarios):
        shutil.rmtree(folder, ignore_errors=True)
        return 0
    print(f"\nbench: kept {folder} (suite.log) for a look", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
