"""First start: a configuration with fresh keys, and a curl line that works as printed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

TRACKWAY = str(Path(sys.executable).parent / "trackway")


def test_first_start_writes_keys_and_prints_a_curl_line_that_works(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKWAY_")}
    env["COLUMNS"] = "400"  # keep the printed command on one line
    proc = subprocess.Popen(
        [TRACKWAY, "serve", "--data", str(tmp_path), "--port", "0", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("Stop with"):
                break
        text = "".join(lines)
        assert "Wrote" in text and (tmp_path / "trackway.toml").exists()
        url = re.search(r"listening on (http://\S+)", text).group(1)
        send = next(ln for ln in lines if ln.startswith("curl") and "/collect" in ln)
        see = next(ln for ln in lines if ln.startswith("curl") and "/api/events" in ln)
        result = subprocess.run(["bash", "-c", send], capture_output=True, text=True, check=True)
        assert json.loads(result.stdout)["accepted"] == 1
        # Read-your-writes, with the first start's defaults: the query sent the moment the
        # event was acknowledged finds it (it waits for the loader to pass it).
        events = json.loads(
            subprocess.run(["bash", "-c", see], capture_output=True, text=True, check=True).stdout
        )
        [event] = events["events"]
        assert (event["name"], event["property"]) == ("add_to_cart", "default")
        assert httpx.get(f"{url}/health").status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
