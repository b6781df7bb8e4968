"""`trackway forget` on a running server with ``keep_log``: the forget has the workers
roll the segments they write (run/log-rotate) and waits for it, so that one forget
reaches every raw request and no log file keeps the person's (issue 12)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote_plus

from tests.support.server import Server, cli

EMAIL = "Erased.Person@Example.com"


def _files_holding(data: Path, needle: str) -> list[str]:
    found = []
    for path in sorted((data / "log").rglob("*.log")):
        if needle.lower().encode() in path.read_bytes().lower():
            found.append(str(path.relative_to(data)))
    return found


def test_forget_rolls_the_segments_workers_write_and_scrubs_them(tmp_path):
    data = tmp_path / "data"
    server = Server(data, workers=1)
    config = data / "trackway.toml"
    config.write_text(config.read_text().replace("[server]\n", "[server]\nkeep_log = true\n", 1))
    try:
        server.start()
        keys = server.keys()
        body = {
            "client_id": "c-1",
            "user_id": "u-erased",
            "events": [
                {
                    "name": "page_view",
                    "params": {"page_location": f"https://s.example/?e={quote_plus(EMAIL)}"},
                }
            ],
        }
        assert server.post("/mp/collect", params=Server.mp_params(keys), json=body).status_code == 204
        server.wait_events(1)
        assert _files_holding(data, quote_plus(EMAIL)), "the test can fail: the raw request is in the log"

        out = cli("forget", "--user", "u-erased", data=data).stdout
        assert "log: 1 records scrubbed" in out and "still being written" not in out, out
        assert _files_holding(data, quote_plus(EMAIL)) == []
        assert _files_holding(data, "u-erased") == []
    finally:
        server.close()
