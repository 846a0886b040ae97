"""Build argon2-cffi-bindings for this CPU, as the Dockerfile does, or keep the portable wheel.

`make install` runs this with the virtual environment's Python after installing the parts. The
same C code compiled with `-O3 -march=x86-64-v3` hashes about twice as fast as the portable
wheel from PyPI, with identical hashes (checked here after the build: a known answer). Without
every x86-64-v3 CPU flag, on another architecture, with TESSERA_ARGON2_PORTABLE=1, or when the
build or the check fails, the portable wheel stays (one line says why).

    .venv/bin/python tools/argon2_build.py
"""

import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path
from typing import Literal

PACKAGE = "argon2-cffi-bindings"
MARCH = "x86-64-v3"
CFLAGS = f"-O3 -march={MARCH}"
# What -march=x86-64-v3 lets the compiler use, as /proc/cpuinfo names it (abm: LZCNT).
V3_FLAGS = frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"})
PORTABLE_ENV = "TESSERA_ARGON2_PORTABLE"
# Made by the portable PyPI wheel: any correct build must give exactly this string.
KNOWN_ANSWER = (
    "$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYS1rYXQtc2FsdA$"
    "cCuQKov85tYsk4I6Puwyvel5uUmm/QFeiSEz4XcT0ic"
)
KNOWN_ANSWER_CODE = (
    "from argon2.low_level import Type, hash_secret; print(hash_secret("
    "b'tessera-known-answer', b'tessera-kat-salt', time_cost=2, memory_cost=19456, "
    "parallelism=1, hash_len=32, type=Type.ID).decode())"
)
Build = Literal["avx2", "portable"]


@dataclass(frozen=True)
class Plan:
    build: Build
    reason: str


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The flags of the first CPU in a /proc/cpuinfo text (empty when it has none)."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def choose(*, machine: str, flags: frozenset[str], portable: bool) -> Plan:
    """Which build this host gets; the reason is printed as is."""
    if portable:
        return Plan("portable", f"{PORTABLE_ENV}=1")
    if machine.lower() not in {"x86_64", "amd64"}:
        return Plan("portable", f"{machine} is not x86-64")
    missing = sorted(V3_FLAGS - flags)
    if missing:
        return Plan("portable", f"the CPU lacks {', '.join(missing)} (x86-64-v3)")
    return Plan("avx2", f"CFLAGS={CFLAGS}")


def is_local_build(wheel_metadata: str) -> bool:
    """True for a wheel built here (tag `...-linux_x86_64`), false for a published one."""
    platforms = [
        line.partition(":")[2].strip().rsplit("-", 1)[-1]
        for line in wheel_metadata.splitlines()
        if line.startswith("Tag:")
    ]
    return bool(platforms) and all(p.startswith("linux_") for p in platforms)


def _installed() -> tuple[str, bool]:
    dist = distribution(PACKAGE)
    return dist.version, is_local_build(dist.read_text("WHEEL") or "")


def _pip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # No cache: a wheel cached from an earlier build with other CFLAGS must not be reused.
    command += ["--no-deps", "--force-reinstall", "--no-cache-dir", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def _known_answer_holds() -> bool:
    """Hash in a fresh interpreter: an illegal instruction kills only that one."""
    run = [sys.executable, "-c", KNOWN_ANSWER_CODE]
    try:
        done = subprocess.run(run, capture_output=True, text=True, check=False, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and done.stdout.strip() == KNOWN_ANSWER


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def _portable(version: str, why: str) -> int:
    """Put the published wheel back (if a local build is installed) and say why."""
    if _installed()[1]:
        done = _pip("--only-binary", PACKAGE, f"{PACKAGE}=={version}")
        if done.returncode != 0:
            print(
                f"{PACKAGE} {version}: cannot reinstall the portable wheel: "
                f"{_last_line(done.stderr)}"
            )
            return 1
    print(f"{PACKAGE} {version}: portable wheel ({why})")
    return 0


def main() -> int:
    version, local = _installed()
    cpuinfo = Path("/proc/cpuinfo")
    plan = choose(
        machine=platform.machine(),
        flags=cpu_flags(cpuinfo.read_text() if cpuinfo.exists() else ""),
        portable=os.environ.get(PORTABLE_ENV, "") not in {"", "0"},
    )
    if plan.build == "portable":
        return _portable(version, plan.reason)
    if local and _known_answer_holds():
        print(f"{PACKAGE} {version}: already built for {MARCH}")
        return 0
    env = {**os.environ, "CFLAGS": CFLAGS}
    done = _pip("--no-binary", PACKAGE, f"{PACKAGE}=={version}", env=env)
    if done.returncode != 0:
        return _portable(version, f"build failed: {_last_line(done.stderr)}")
    if not _known_answer_holds():
        return _portable(version, "the build gave a wrong known answer")
    print(f"{PACKAGE} {version}: built from source, {plan.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
