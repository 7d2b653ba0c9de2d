"""CI (``.ci/run``) runs, besides ``make test``, the kernel-settings check: the unit tests that
compare numbers computed two ways (``KERNEL_TESTS``: Ray workers and a pool of processes
against the local run, bf16 against fp32, ONNX Runtime against torch) and the nbval references,
under two threads and AVX2 kernels. Read from the Makefile's dry run, nothing executed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETTING = "OMP_NUM_THREADS=2,ATEN_CPU_CAPABILITY=avx2,ONEDNN_MAX_CPU_ISA=AVX2"
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def plan(tmp_path, *args) -> str:
    """The commands `make test-kernels` would run, on a venv that does not exist."""
    return subprocess.run(["make", "-n", "--no-print-directory", "test-kernels",
                           f"VENV={tmp_path / 'venv'}", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True, env=CLEAN_ENV).stdout


def kernel_tests(text: str) -> list[str]:
    return re.findall(r"tests/test_\w+\.py::\w+", text)


def test_ci_runs_the_kernel_check_under_two_threads_and_avx2():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test\n" in ci
    assert f'make test-kernels KERNEL_SETTINGS="{SETTING}"' in ci


@needs_make
def test_the_kernel_check_runs_the_unit_tests_then_the_references(tmp_path):
    commands = plan(tmp_path, f"KERNEL_SETTINGS={SETTING}")
    tests = kernel_tests(commands)
    assert "tests/test_ray_executor.py::test_ray_gives_the_local_rows" in tests
    assert commands.index(tests[-1]) < commands.index("tests/nbval --nbval")
    assert "env $(echo $setting | tr , ' ')" in commands and SETTING in commands
    # an empty KERNEL_TESTS runs the references alone
    assert kernel_tests(plan(tmp_path, f"KERNEL_SETTINGS={SETTING}", "KERNEL_TESTS=")) == []


@needs_make
def test_every_kernel_test_exists(tmp_path):
    """A renamed test would leave the check running nothing of it (pytest: 'not found')."""
    tests = kernel_tests(plan(tmp_path, f"KERNEL_SETTINGS={SETTING}"))
    assert len(tests) >= 5
    for node in tests:
        path, name = node.split("::")
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE), node
