"""The atheris fuzzer, bounded, so that `make test` fuzzes every endpoint a little
(`make fuzz` runs it long)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("TRACKWAY_FUZZ_ATHERIS_RUNS", "200"))


def test_a_bounded_atheris_run_breaks_no_invariant(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.atheris_main",
        "--runs",
        str(RUNS),
        "--workdir",
        str(tmp_path),
    ]
    command += ["-seed=1", "-max_total_time=90", f"-artifact_prefix={tmp_path}/"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "fuzz: requests tried" in done.stdout, output[-4000:]
