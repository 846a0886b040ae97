"""tools/argon2_build.py: which argon2 build a host gets, and that the installed one is correct."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

AVX2_HOST = frozenset(
    ["fpu", "sse2", "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave", "aes"]
)


def load_tool() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "tools" / "argon2_build.py"
    spec = importlib.util.spec_from_file_location("argon2_build", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def test_the_flags_come_from_the_first_cpu_of_proc_cpuinfo() -> None:
    cpuinfo = (
        "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx2\n\n"
        "processor\t: 1\nflags\t\t: fpu\n"
    )
    assert tool.cpu_flags(cpuinfo) == frozenset({"fpu", "sse2", "avx2"})
    assert tool.cpu_flags("processor\t: 0\n") == frozenset()


def test_an_x86_64_v3_cpu_gets_the_source_build_with_the_dockerfiles_cflags() -> None:
    plan = tool.choose(machine="x86_64", flags=AVX2_HOST, portable=False)
    assert plan.build == "avx2"
    assert plan.reason == "CFLAGS=-O3 -march=x86-64-v3"


@pytest.mark.parametrize("lacking", ["avx2", "bmi2", "movbe"])
def test_a_cpu_lacking_any_x86_64_v3_flag_keeps_the_portable_wheel(lacking: str) -> None:
    plan = tool.choose(machine="x86_64", flags=AVX2_HOST - {lacking}, portable=False)
    assert plan.build == "portable"
    assert lacking in plan.reason


def test_other_architectures_keep_the_portable_wheel() -> None:
    plan = tool.choose(machine="aarch64", flags=frozenset({"fp", "asimd"}), portable=False)
    assert plan == tool.Plan("portable", "aarch64 is not x86-64")


def test_the_environment_variable_keeps_the_portable_wheel_on_any_cpu() -> None:
    plan = tool.choose(machine="x86_64", flags=AVX2_HOST, portable=True)
    assert plan == tool.Plan("portable", "TESSERA_ARGON2_PORTABLE=1")


def test_a_published_wheel_is_told_apart_from_a_local_build_by_its_platform_tag() -> None:
    published = (
        "Wheel-Version: 1.0\nGenerator: scikit-build-core 1.1.2\nRoot-Is-Purelib: false\n"
        "Tag: cp310-abi3-manylinux_2_26_x86_64\nTag: cp310-abi3-manylinux_2_28_x86_64\n"
    )
    local = "Wheel-Version: 1.0\nTag: cp310-abi3-linux_x86_64\n"
    assert tool.is_local_build(published) is False
    assert tool.is_local_build(local) is True
    assert tool.is_local_build("Wheel-Version: 1.0\n") is False


def test_the_installed_build_gives_the_portable_wheels_known_answer() -> None:
    # Whatever `make install` chose: a source build must hash exactly as the published wheel.
    assert tool._known_answer_holds() is True
