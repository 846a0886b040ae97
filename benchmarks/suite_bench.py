"""`make bench`: the suite started as `make run` starts it, loaded with wrk; issue 16's figures.

    .venv/bin/python benchmarks/suite_bench.py [--duration 12] [--warmup 3] [--scenarios login,me]
        [--soak 600] [--peers $PEERS_HOME/results/all-*/*.jsonl]
    make bench BENCH_ARGS="--soak 600"

Same footing as the shared peer harness (run_tessera.sh): every server process pinned to one CPU
and wrk to another (2+ CPUs), closed loop, keep-alive, one wrk thread, 8 connections for the
argon2-bound scenarios and 32 for the others; rate limits off (the peers have none). The lockout
keeps its default settings: 8 parallel correct logins of one account must not trip it. Own data
folder and free ports, so a running `make run` is left alone. Stops everything it started.

Prints, after the conditions:
- one row per scenario; `validate-direct` and `refresh-direct` send the same load straight to the
  session service (X-Forwarded-For set as the gateway sets it), and a second table gives "through
  the gateway / direct" per pair (target >= 75 %);
- each part's resident memory after the scenarios: VmRSS summed over its process tree (granian's
  main process and forked workers), target <= 150 MB; beside it the PSS sum (shared pages split
  between the processes);
- with `--peers FILE...` (loadgen.py JSONL of ../shared/peers, e.g. run_all.sh's
  results/all-*/*.jsonl): our successful req/s over each peer's median, against the targets;
- with `--soak SECONDS`: after the scenarios, a mixed load (validate, /v1/users/me, refresh, a
  paced login) for that long in rounds of 30 s, each part's RSS sampled after the warm-up and
  after every round; prints start, end, growth and max per part and flags growth over 5 %, plus
  the load's own figures (errors included).
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

if not __package__:  # run as a script: make its sibling modules importable as `benchmarks.*`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.suite_memory import PartMemory, memory_table, part_memory, read_procs, read_pss
from benchmarks.suite_memory import descendants as process_tree
from benchmarks.suite_peers import compare, comparison_table, load_peer_rows
from benchmarks.suite_soak import (
    LOGIN_PACE_MS,
    MIX,
    Drift,
    LoadTotal,
    RoundFigures,
    drift,
    drift_table,
    load_table,
    rounds,
    total,
)
from tessera_shared.devservers.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("suite_bench.lua")
PASSWORD = "Bench-Password-123"
SCENARIOS = (
    "login",
    "validate",
    "validate-direct",
    "me",
    "refresh",
    "refresh-direct",
    "register",
)
HASH_BOUND = frozenset({"login", "register"})
TITLES = {
    "login": "POST /auth/login (password)",
    "validate": "GET /auth/validate-session",
    "validate-direct": "GET /auth/validate-session, session service direct",
    "me": "GET /v1/users/me",
    "refresh": "POST /auth/login/refresh (rotation)",
    "refresh-direct": "POST /auth/login/refresh (rotation), session service direct",
    "register": "POST /auth/register + code delivered",
}
# (through the gateway, straight to the session service)
PAIRS = (("validate", "validate-direct"), ("refresh", "refresh-direct"))
GATEWAY_SHARE_TARGET_PCT = 75.0
# What the gateway adds to every request it forwards; the session service reads the client IP
# from it (sign-ins and refreshes store it).
DIRECT_HEADERS = "X-Forwarded-For: 127.0.0.1"
# The peers have no rate limits: ours are off (the per-IP code cap too, for register). The
# lockout keeps its defaults; inherited TESSERA_IDENTITY_LOCKOUT_* variables are dropped.
LOAD_SETTINGS = {
    "TESSERA_GATEWAY_RATE_LIMITS_ENABLED": "false",
    "TESSERA_IDENTITY_CODES_PER_IP_PER_HOUR": "100000000",
    # Codes go to otp-delivery's console provider, as before `make run` had its inbox: the
    # inbox (dev tooling, parsing each mail) would share the measured core, and the register
    # row counts the codes in the console lines.
    "TESSERA_DEV_INBOX": "false",
    # Nor the example web app's static server: nothing measured calls it.
    "TESSERA_DEV_WEB": "false",
}
DEFAULT_LOCKOUT_PREFIX = "TESSERA_IDENTITY_LOCKOUT_"


class Options(msgspec.Struct, frozen=True, kw_only=True):
    duration: int = 12
    warmup: int = 3
    conn_hash: int = 8
    conn_fast: int = 32
    scenarios: tuple[str, ...] = SCENARIOS
    pin: bool = True
    wrk: str = "wrk"
    soak: int = 0
    peers: tuple[Path, ...] = ()


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

    @property
    def errors(self) -> int:
        return self.status + self.connect + self.read + self.write + self.timeout

    @property
    def ok_rps(self) -> float:
        """Answers with a 2xx status per second (non-2xx answers do not count)."""
        return (self.requests - self.status) / self.duration_s if self.duration_s else 0.0


class Row(msgspec.Struct, frozen=True, kw_only=True):
    scenario: str
    connections: int
    result: Result
    foreign_pct: float
    note: str = ""


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    # whole seconds: wrk takes no fractions
    parser.add_argument("--duration", type=int, default=12, help="measured seconds")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds")
    parser.add_argument("--conn-hash", type=int, default=8, help="connections: login, register")
    parser.add_argument("--conn-fast", type=int, default=32, help="connections: the others")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--no-pin", action="store_true", help="no taskset pinning")
    parser.add_argument("--wrk", default="wrk", help="wrk binary")
    parser.add_argument(
        "--soak", type=int, default=0, metavar="SECONDS", help="then a mixed load this long"
    )
    parser.add_argument(
        "--peers",
        nargs="+",
        action="extend",
        type=Path,
        default=[],
        metavar="FILE",
        help="loadgen.py JSONL results of ../shared/peers to compare with",
    )
    args = parser.parse_args(argv)
    chosen = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown or not chosen:
        parser.error(f"--scenarios: pick from {', '.join(SCENARIOS)}; got {args.scenarios!r}")
    if args.duration <= 0 or args.warmup < 0 or min(args.conn_hash, args.conn_fast) < 1:
        parser.error("durations must be positive and connections at least 1")
    if args.soak < 0:
        parser.error("--soak: seconds, 0 for none")
    missing = [str(path) for path in args.peers if not path.is_file()]
    if missing:
        parser.error(f"--peers: no such file: {', '.join(missing)}")
    return Options(
        duration=args.duration,
        warmup=args.warmup,
        conn_hash=args.conn_hash,
        conn_fast=args.conn_fast,
        scenarios=chosen,
        pin=not args.no_pin,
        wrk=args.wrk,
        soak=args.soak,
        peers=tuple(args.peers),
    )


def parse_wrk(output: str) -> Result:
    """The WRKJSON line suite_bench.lua prints at the end of a run."""
    for line in output.splitlines():
        if line.startswith("WRKJSON "):
            return msgspec.json.decode(line[len("WRKJSON ") :], type=Result)
    raise RuntimeError(f"wrk printed no WRKJSON line:\n{output}")


def gateway_share_table(rows: Sequence[Row]) -> str:
    """Markdown: per measured pair, req/s through the gateway as a share of req/s direct."""
    by_name = {row.scenario: row.result for row in rows}
    lines = [
        f"| pair | through gateway ok req/s | direct ok req/s | gateway / direct "
        f"| target >= {GATEWAY_SHARE_TARGET_PCT:g} % |",
        "|---|---:|---:|---:|---|",
    ]
    for gateway, direct in PAIRS:
        if gateway not in by_name or direct not in by_name:
            continue
        through, straight = by_name[gateway].ok_rps, by_name[direct].ok_rps
        share = through / straight * 100 if straight else 0.0
        verdict = "ok" if share >= GATEWAY_SHARE_TARGET_PCT else "**below target**"
        lines.append(
            f"| {gateway} / {direct} | {through:.0f} | {straight:.0f} | {share:.0f} % | {verdict} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def errors_of(row: Row) -> str:
    r = row.result
    parts = [f"{r.status} non-2xx"] if r.status else []
    socket = r.connect + r.read + r.write + r.timeout
    if socket:
        parts.append(f"{socket} socket")
    if row.scenario.startswith("refresh"):
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
    method: str,
    url: str,
    body: Mapping[str, object] | None = None,
    token: str = "",
    extra: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json", **(extra or {})}
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
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(DEFAULT_LOCKOUT_PREFIX)
        }
        self.env = {
            **inherited,
            **{f"TESSERA_{name}_PORT": str(port) for name, port in self.ports.items()},
            **{f"TESSERA_DEV_{name}_PORT": str(free_port()) for name in deps},
            # The dev inbox too: never the default ports another `make run` may hold.
            "TESSERA_DEV_SMTP_PORT": str(free_port()),
            "TESSERA_DEV_INBOX_PORT": str(free_port()),
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

    @property
    def session_base(self) -> str:
        return f"http://127.0.0.1:{self.ports['SESSION']}"

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
        return sorted(process_tree(read_procs(), self.process.pid))

    def memory(self) -> dict[str, PartMemory]:
        """Each part's resident memory now (its process tree summed)."""
        if self.process is None:
            return {}
        procs = read_procs()
        ours = process_tree(procs, self.process.pid)
        return part_memory(procs, self.process.pid, read_pss(ours))

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

    def wrk(self, seconds: int, connections: int, env: Mapping[str, str], base: str = "") -> Result:
        return _finish(self.start_wrk(seconds, connections, env, base))

    def start_wrk(
        self, seconds: int, connections: int, env: Mapping[str, str], base: str = ""
    ) -> "subprocess.Popen[str]":
        """wrk against `base` (default: the gateway), running in the background."""
        command = [
            self.o.wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            base or self.suite.base,
        ]
        if self.wrk_cpu is not None:
            command = ["taskset", "-c", self.wrk_cpu, *command]
        return subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def measure(
        self,
        scenario: str,
        connections: int,
        env: Mapping[str, str],
        warm_env: Mapping[str, str] | None = None,
        base: str = "",
    ) -> Row:
        if self.o.warmup > 0:
            self.wrk(self.o.warmup, connections, env if warm_env is None else warm_env, base)
        own = self.suite.pids()
        busy, mine, children = _busy_ticks(), float(_cpu_ticks(own)), _children_ticks()
        result = self.wrk(self.o.duration, connections, env, base)
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
        direct = scenario.endswith("-direct")
        base = self.suite.session_base if direct else ""
        if scenario.startswith("refresh"):
            return self._refresh(scenario, email, connections, base)
        path = "/v1/users/me" if scenario == "me" else "/auth/validate-session"
        env = self._bearer_env(path, str(self.login(email)["idToken"]), base)
        return self.measure(scenario, connections, env, base=base)

    def _bearer_env(self, path: str, token: str, base: str = "") -> dict[str, str]:
        """A static GET with the access token, checked once first."""
        headers = {"Authorization": f"Bearer {token}"}
        if base:
            headers.update(_header_dict(DIRECT_HEADERS))
        status, answer = _http("GET", f"{base or self.suite.base}{path}", extra=headers)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status} {answer}")
        lines = "\n".join(f"{k}: {v}" for k, v in headers.items())
        return {"BENCH_MODE": "static", "BENCH_PATH": path, "BENCH_HEADERS": lines}

    def _seeds(self, email: str, connections: int) -> str:
        """A seed file for the refresh mode: one login per connection (+2: wrk builds one
        request per thread at start-up that is never sent), so each connection rotates its own
        family."""
        tokens = [str(self.login(email)["refreshToken"]) for _ in range(connections + 2)]
        seed = self.suite.folder / f"seeds-{secrets.token_hex(4)}.txt"
        seed.write_text("\n".join(tokens) + "\n")
        return str(seed)

    def _refresh(self, scenario: str, email: str, connections: int, base: str = "") -> Row:
        # Warm-up and run get fresh seeds.
        env = _refresh_env(base)
        warm = None
        if self.o.warmup > 0:
            warm = {**env, "BENCH_SEEDS_FILE": self._seeds(email, connections)}
        seeds = self._seeds(email, connections)
        return self.measure(scenario, connections, {**env, "BENCH_SEEDS_FILE": seeds}, warm, base)

    def soak(self, seconds: int) -> tuple[list[LoadTotal], list[Drift]]:
        """The mixed load in rounds; RSS after the warm-up round and after every round."""
        # The paced logins get an account of their own: each opens a session, and past
        # max_sessions_per_user (50) the oldest are ended, which would end the tokens under load.
        email, signer = self.user("soak"), self.user("soak-login")
        if self.o.warmup > 0:
            self._soak_round(email, signer, self.o.warmup)
        samples = [self._rss()]
        figures: dict[str, list[RoundFigures]] = {load: [] for load in MIX}
        elapsed = 0
        for length in rounds(seconds):
            for load, r in self._soak_round(email, signer, length).items():
                figures[load].append(
                    RoundFigures(
                        requests=r.requests,
                        seconds=r.duration_s,
                        non2xx=r.status,
                        socket=r.errors - r.status,
                        p50_ms=r.p50_ms,
                        p99_ms=r.p99_ms,
                    )
                )
            samples.append(self._rss())
            elapsed += length
            now = ", ".join(f"{part} {kb * 1024 / 1e6:.1f}" for part, kb in samples[-1].items())
            print(f"bench: soak {elapsed}/{seconds} s; RSS MB: {now}", flush=True)
        totals = [total(load, MIX[load], figures[load]) for load in MIX]
        return totals, drift(samples)

    def _rss(self) -> dict[str, int]:
        return {part: memory.rss_kb for part, memory in self.suite.memory().items()}

    def _soak_round(self, email: str, signer: str, seconds: int) -> dict[str, Result]:
        """The four loads of the mix at once for `seconds`, with fresh tokens."""
        token = str(self.login(email)["idToken"])
        login = json.dumps({"email": signer, "password": PASSWORD})
        envs = {
            "validate": self._bearer_env("/auth/validate-session", token),
            "me": self._bearer_env("/v1/users/me", token),
            "refresh": {
                **_refresh_env(""),
                "BENCH_SEEDS_FILE": self._seeds(email, MIX["refresh"]),
            },
            "login": {
                "BENCH_MODE": "static",
                "BENCH_METHOD": "POST",
                "BENCH_PATH": "/auth/login",
                "BENCH_BODY": login,
                "BENCH_DELAY_MS": str(LOGIN_PACE_MS),
                **_JSON,
            },
        }
        running = {load: self.start_wrk(seconds, MIX[load], env) for load, env in envs.items()}
        return {load: _finish(process) for load, process in running.items()}

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


def _refresh_env(base: str) -> dict[str, str]:
    headers = _JSON["BENCH_HEADERS"] + (f"\n{DIRECT_HEADERS}" if base else "")
    return {
        "BENCH_MODE": "refresh",
        "BENCH_METHOD": "POST",
        "BENCH_PATH": "/auth/login/refresh",
        "BENCH_BODY": '{"refreshToken":"{refresh}"}',
        "BENCH_HEADERS": headers,
    }


def _header_dict(lines: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in lines.splitlines())}


def _finish(process: "subprocess.Popen[str]") -> Result:
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err}")
    return parse_wrk(out)


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
            "rate limits off (gateway limits, codes per IP per hour 100000000: the peers have "
            "none); the lockout at its default settings (no TESSERA_IDENTITY_LOCKOUT_*), so "
            "the login row is 8 parallel correct logins of one account under the default lockout",
            "- direct rows: the same load on the session service's own port, with "
            f"`{DIRECT_HEADERS}` as the gateway sends it",
            "- RSS: VmRSS summed over each part's process tree (granian main + forked workers), "
            "read after the scenarios; shared pages count once per process (PSS: split "
            "between the sharers)",
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
    peers = load_peer_rows(options.peers)  # a bad file fails before the suite starts
    rows: list[Row] = []
    memory: dict[str, PartMemory] = {}
    soaked: tuple[list[LoadTotal], list[Drift]] | None = None
    try:
        print(f"bench: starting the suite (log {suite.log}); rate limits off, default lockout")
        suite.start()
        bench = Bench(options, suite, wrk_cpu)
        for scenario in options.scenarios:
            print(f"bench: {scenario}…", flush=True)
            try:
                rows.append(bench.run(scenario))
            except RuntimeError as exc:
                print(f"bench: {scenario} failed: {exc}", file=sys.stderr)
        memory = suite.memory()
        if options.soak > 0:
            print(f"bench: soak for {options.soak:g} s…", flush=True)
            soaked = bench.soak(options.soak)
    except (RuntimeError, KeyboardInterrupt) as exc:
        print(f"bench: {exc or 'interrupted'}", file=sys.stderr)
    finally:
        suite.stop()
    print()
    print(conditions(options, wrk_cpu, server_cpu))
    print()
    print(format_table(rows))
    if share := gateway_share_table(rows):
        print()
        print(share)
    if memory:
        print("\nResident memory after the scenarios:\n")
        print(memory_table(memory))
    if options.peers:
        print(f"\nAgainst the peers ({len(peers)} result lines from {len(options.peers)} files):\n")
        print(comparison_table(compare({r.scenario: r.result.ok_rps for r in rows}, peers)))
    if soaked is not None:
        totals, drifts = soaked
        print(f"\nSoak: {options.soak:g} s of mixed load after a {options.warmup:g} s warm-up\n")
        print(load_table(totals))
        print()
        print(drift_table(drifts))
    # A soak with failed requests keeps the suite's log for a look, as a failed scenario does.
    complete = options.soak == 0 or (
        soaked is not None and not any(t.non2xx or t.socket for t in soaked[0])
    )
    if len(rows) == len(options.scenarios) and complete:
        shutil.rmtree(folder, ignore_errors=True)
        return 0
    print(f"\nbench: kept {folder} (suite.log) for a look", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
