"""The firmware's logic tests pass under real MicroPython too (its WebAssembly port, in Node)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import tests.firmware.test_logic as logic

HERE = Path(__file__).resolve().parent


def test_the_logic_tests_pass_under_micropython() -> None:
    node = shutil.which("node")
    assert node, "node is missing: scripts/setup installs it"
    assert (HERE / "node_modules").is_dir(), "run `npm ci` in tests/firmware (scripts/setup does)"
    result = subprocess.run([node, "run_micropython.mjs"], cwd=HERE, capture_output=True, text=True, timeout=120,
                            check=False)  # fmt: skip
    output = result.stdout + result.stderr
    assert "implementation: micropython" in output
    summary = re.search(r"^(\d+) passed, (\d+) failed$", output, re.MULTILINE)
    assert summary, output
    passed, failed = int(summary[1]), int(summary[2])
    expected = sum(name.startswith("test_") for name in dir(logic)) + 2  # + main.py and hal_esp32.py compiled
    assert (passed, failed) == (expected, 0), output
