"""The tracker's JavaScript unit tests (tests/tracker/js/*.test.mjs), run by Node's test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = ROOT / "tests" / "tracker" / "js"


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("expected Node.js 20 or later on PATH to run tests/tracker/js/, found no `node`")
    try:
        run = subprocess.run(
            [node, "--test", str(JS_TESTS) + "/"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"node --test tests/tracker/js/ ran over 120 s; its output so far:\n{exc.stdout or ''}")
    if run.returncode != 0:
        output = f"{run.stdout}\n{run.stderr}"
        pytest.fail(f"node --test tests/tracker/js/ exited with {run.returncode}; its output:\n{output}")
    assert "# fail 0" in run.stdout, run.stdout
