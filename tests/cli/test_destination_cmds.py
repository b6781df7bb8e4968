"""`trackway destination` against a running server and a webhook receiver on loopback:
add, list, test, pause and resume, status, dead letters and their retry, replay, remove."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.destinations.receivers import Normal, Reply, WebhookReceiver, receiver
from tests.support.server import Server, cli, command, environment, loads, wait_for
from trackway import config as configuration
from trackway.cli import destination_cmds, serverctl
from trackway.cli.main import cli as main
from trackway.destinations import runner, status
from trackway.destinations.consumer import DeadLetter
from trackway.destinations.deadletters import DeadLetters
from trackway.ingest import log, records
from trackway.model import Event, encode_json, to_json
from trackway.server.supervisor import ServerState

SECRET = "whsec_cli_test_secret"


def _send(server: Server, n: int, tag: str) -> list[str]:
    key = server.keys()["collect_key"]
    events = [{"event": "page_view", "page_location": f"https://shop.example/{tag}/{i}"} for i in range(n)]
    r = httpx.post(
        server.url + "/collect", content=encode_json({"key": key, "anonymous_id": "g1", "events": events})
    )
    assert r.status_code == 200, r.text
    return [e for result in r.json()["results"] for e in result["events"]]


def _letters(server: Server) -> list[dict[str, object]]:
    found: list[dict[str, object]] = loads(
        cli("destination", "dead-letters", "hook", "--format", "json", data=server.data).stdout
    )
    return found


def _status(server: Server) -> dict[str, object]:
    row: dict[str, object] = loads(
        cli("destination", "status", "hook", "--format", "json", data=server.data).stdout
    )["destinations"][0]
    return row


def test_the_destination_commands_end_to_end(tmp_path: Path) -> None:
    with receiver(WebhookReceiver, SECRET, time.time) as hook:
        server = Server(tmp_path / "a")
        try:
            server.start()
            before = _send(server, 3, "before")  # acknowledged before the destination exists
            options = ["-o", f"url={hook.url}/in", "-o", f"secret={SECRET}", "--identifiers", "keep"]
            added = cli(
                "destination", "add", "default", "hook", "--type", "webhook", *options, data=server.data
            )
            assert "from now on" in added.stdout and SECRET not in added.stdout
            listed = loads(cli("destination", "list", "--format", "json", data=server.data).stdout)
            assert [(d["id"], d["options"]["secret"]) for d in listed] == [("default.hook", "<secret>")]

            tested = cli("destination", "test", "hook", data=server.data)
            assert "HTTP 200" in tested.stdout
            assert [e for e in hook.events() if e.startswith("trackway-test-")]

            after = _send(server, 4, "after")
            wait_for(lambda: set(hook.events()) >= set(after), 30, "new events forwarded")
            assert not set(before) & set(hook.events())  # from now on: not what came before

            cli("destination", "pause", "hook", data=server.data)
            wait_for(lambda: _status(server)["state"] == "paused", 30, "paused")
            paused = _send(server, 2, "paused")
            time.sleep(2)
            assert not set(paused) & set(hook.events())
            cli("destination", "resume", "hook", data=server.data)
            wait_for(lambda: set(hook.events()) >= set(paused), 30, "the events of the pause, after it")

            hook.script(Reply(400, b"no thanks"))
            refused = _send(server, 1, "refused")
            letters = wait_for(lambda: _letters(server), 30, "a dead letter")
            assert letters[0]["events"] == refused and letters[0]["status"] == 400
            assert "no thanks" in letters[0]["response"]
            cli("destination", "retry", "hook", str(letters[0]["n"]), data=server.data)
            assert set(refused) <= set(hook.events())
            assert (
                loads(cli("destination", "dead-letters", "hook", "--format", "json", data=server.data).stdout)
                == []
            )

            replayed = cli("destination", "replay", "hook", "--since", "1h", data=server.data)
            assert "delivered" in replayed.stdout
            assert set(before) <= set(hook.events())  # the window's older events, from the store

            status = _status(server)
            assert status["dead_letters"] == 0 and status["delivered"] >= len(after) + len(paused)
            removed = cli("destination", "remove", "hook", "--yes", data=server.data)
            assert "removed default.hook" in removed.stdout
            assert not list((server.data / "run" / "destinations").glob("default.hook.*"))
            assert loads(cli("destination", "list", "--format", "json", data=server.data).stdout) == []
            bad = cli("destination", "status", "hook", data=server.data, check=False)
            assert bad.returncode != 0 and "expected one of" in bad.stderr
        finally:
            server.close()


def test_status_says_when_a_destination_waits_for_its_answers(tmp_path: Path) -> None:
    """A destination a minute behind whose one request at a time was outstanding 97% of
    the time: `status` names the round trip and says to raise in_flight."""
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "shop")
    configuration.add_destination(path, "shop", "cv", {"type": "convead", "app_key": "app-secret-key"})
    runner.start_at_end(tmp_path, "shop.cv")  # then one record, received a minute ago
    event = to_json(Event(name="page_view", dialect="gtm-ga4", id="e1", property="shop", anonymous_id="a"))
    record = records.Record(
        kind=records.DECODED, request_id="e1", endpoint="/collect", property="shop",
        received_at=int((time.time() - 60) * 1e6), events=[event], client_ids=[True],
    )  # fmt: skip
    segment = tmp_path / "log" / "w1" / log.segment_name(1)
    segment.parent.mkdir(parents=True, exist_ok=True)
    segment.write_bytes(log.frame(records.dumps(record)))
    said = status.Status("shop.cv", type="convead", delivered=500, requests=500, round_trip_ms=31.0)
    said.sending_share = 0.97
    status.save(runner.Files(tmp_path, "shop.cv").status, said)
    text = " ".join(cli("destination", "status", data=tmp_path).stdout.split())
    assert re.search(r"behind by 6\d s and waiting for its answers: 31 ms a request, 1 at a time", text)
    assert "so at most about 32 events/s" in text
    assert "Raise in_flight (now 1, at most 64)" in text
    row = loads(cli("destination", "status", "--format", "json", data=tmp_path).stdout)["destinations"][0]
    assert row["in_flight"] == 1 and row["round_trip_ms"] == 31.0 and "Raise in_flight" in row["hint"]
    assert "app-secret-key" not in text


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_status_finds_the_running_server_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    # it read the server's state file for its last line, then again for the configuration
    # problem: two answers that could disagree (a server stopping in between)
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "shop")
    configuration.add_destination(path, "shop", "cv", {"type": "convead", "app_key": "app-secret-key"})
    looked: list[Path] = []

    def running(data: Path) -> None:
        looked.append(data)

    monkeypatch.setattr(destination_cmds, "running", running)
    monkeypatch.setattr(serverctl, "running", running)
    shown = CliRunner().invoke(main, ["destination", "status", "--format", fmt, "--data", str(tmp_path)])
    assert shown.exit_code == 0, repr(shown.exception)
    assert looked == [tmp_path]
    if fmt == "text":
        assert "no server runs on this data directory" in " ".join(shown.output.split())
    else:
        assert loads(shown.output)["config_problem"] is None


@pytest.mark.parametrize(
    ("numbers", "answers", "delivered", "left", "code"),
    [
        (["1", "2", "3"], [Normal(), Normal(), Normal()], 7 + 3, 0, 0),
        (["1", "2", "3"], [Reply(400, b"still no"), Normal(), Normal()], 7 + 2, 1, 1),
        (["1", "2", "3"], [Reply(400, b"still no")] * 3, 7, 3, 1),
        (["--all"], [Normal(), Normal(), Normal()], 7 + 3, 0, 0),
        # a number given twice was sent twice (and counted twice)
        (["2", "2", "1", "2"], [Normal(), Normal(), Normal()], 7 + 2, 1, 0),
    ],
)
def test_dead_letters_delivered_on_retry_count_as_delivered_in_status(
    tmp_path: Path, numbers: list[str], answers: list[Normal | Reply], delivered: int, left: int, code: int
) -> None:
    # the status file is the forwarder's: 3 letters retried left the dead letters, and
    # `delivered` stayed where the forwarder had left it
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "default")
    with receiver(WebhookReceiver, SECRET, time.time) as hook:
        options = {"type": "webhook", "url": f"{hook.url}/in", "secret": SECRET}
        configuration.add_destination(path, "default", "hook", options)
        files = runner.Files(tmp_path, "default.hook")
        status.save(files.status, status.Status("default.hook", type="webhook", delivered=7))
        book = DeadLetters(files.dead)
        for i in range(3):
            event = Event(name="page_view", dialect="gtm-ga4", id=f"e{i}", property="default")
            payloads = (to_json(event),)
            book.append(
                DeadLetter("default.hook", (event.id,), "HTTP 400", datetime.now(UTC), 400, payloads=payloads)
            )
        before = _status_of(tmp_path)
        assert (before["delivered"], before["dead_letters"]) == (7, 3)
        hook.script(*answers)
        retried = cli("destination", "retry", "hook", *numbers, data=tmp_path, check=False)
        assert retried.returncode == code, retried.stdout + retried.stderr
        after = _status_of(tmp_path)
        assert (after["delivered"], after["dead_letters"]) == (delivered, left)
        assert len(hook.events()) == delivered - 7 and hook.duplicates == 0
        shown = cli("destination", "status", data=tmp_path).stdout
        assert re.search(rf"│ default\.hook\s+│ stopped\s+│ {delivered}\s+│ {left}\s+│", shown), shown


@pytest.mark.parametrize(
    ("written", "retry_at", "paused", "serving", "shown"),
    [
        # no server: it said what the forwarder last wrote ("running", a next try long past)
        (status.RUNNING, "", False, False, "stopped"),
        (status.RETRYING, "2026-01-01T00:00:00+00:00", False, False, "stopped"),
        (status.DEFERRED, "", False, False, "stopped"),
        (status.RUNNING, "", True, False, "paused"),
        (status.FAILING, "", False, False, "failing"),
        # a server runs: what its forwarder wrote
        (status.RUNNING, "", False, True, "running"),
        (status.RETRYING, "2026-01-01T00:00:00+00:00", False, True, "retrying"),
    ],
)
def test_status_without_a_server_says_stopped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    written: str,
    retry_at: str,
    paused: bool,
    serving: bool,
    shown: str,
) -> None:
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "shop")
    options = {"type": "convead", "app_key": "app-secret-key", "paused": paused}
    configuration.add_destination(path, "shop", "cv", options)
    status.save(
        runner.Files(tmp_path, "shop.cv").status,
        status.Status("shop.cv", type="convead", state=written, retry_at=retry_at),
    )
    server = ServerState(pid=1, url="http://127.0.0.1:9", socket="/nonexistent") if serving else None
    monkeypatch.setattr(destination_cmds, "running", lambda data: server)
    monkeypatch.setattr(serverctl, "config_problem", lambda state, timeout=2.0: None)
    monkeypatch.setattr(destination_cmds, "config_problem", lambda state, timeout=2.0: None)
    args = ["destination", "status", "--data", str(tmp_path)]
    row = loads(CliRunner().invoke(main, [*args, "--format", "json"]).output)["destinations"][0]
    assert row["state"] == shown and bool(row["retry_at"]) is (shown == "retrying")
    text = CliRunner().invoke(main, args).output  # the table is 80 columns wide here: cells wrap
    assert re.search(rf"│ shop\.cv\s+│ {shown}\s", text) and ("(next" in text) is (shown == "retrying"), text


def test_status_shows_a_destination_named_twice_once(tmp_path: Path) -> None:
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "shop")
    configuration.add_destination(path, "shop", "cv", {"type": "convead", "app_key": "app-secret-key"})
    args = ["destination", "status", "cv", "shop.cv", "cv", "--format", "json", "--data", str(tmp_path)]
    rows = loads(CliRunner().invoke(main, args).output)["destinations"]
    assert [r["destination"] for r in rows] == ["shop.cv"]


def test_status_of_no_destination_says_how_to_add_one(tmp_path: Path) -> None:
    configuration.add_property(tmp_path / "trackway.toml", "shop")
    shown = CliRunner().invoke(main, ["destination", "status", "--data", str(tmp_path)])
    assert shown.exit_code == 0 and "no destinations: add one with `trackway destination add" in shown.output


def _status_of(data: Path) -> dict[str, object]:
    row: dict[str, object] = loads(cli("destination", "status", "--format", "json", data=data).stdout)[
        "destinations"
    ][0]
    return row


def _cli_with(env: dict[str, str], *args: str, data: Path) -> subprocess.CompletedProcess[str]:
    """``trackway ARGS --data DATA`` with ``env`` added to the CLI's environment (not the server's)."""
    return subprocess.run(
        command(*args, "--data", str(data)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**environment(), **env},
    )


def test_an_env_option_the_running_server_lacks_is_refused_and_status_says_why_the_file_is_not_used(
    tmp_path: Path,
) -> None:
    # `add -o secret=env:VAR` checked VAR in the CLI's environment only: the server, without it,
    # could not read the file, kept its old configuration and ignored every later change
    server = Server(tmp_path / "a")
    try:
        server.start()
        env = {"HOOK_SECRET": SECRET}
        options = ["-o", "url=http://127.0.0.1:9/in", "-o", "secret=env:HOOK_SECRET"]
        added = _cli_with(
            env, "destination", "add", "default", "hook", "--type", "webhook", *options, data=server.data
        )
        assert added.returncode == 1, added.stdout
        said = " ".join(added.stderr.split())
        assert "HOOK_SECRET in its environment" in said and "trackway stop" in said, said
        path = configuration.config_path(server.data, None)
        assert "hook" not in path.read_text()

        # written by hand: the server cannot use the file, and `status` says so
        path.write_text(path.read_text() + configuration_table("hook", options))
        wait_for(lambda: httpx.get(f"{server.url}/health").json().get("status") != "ok", 30, "degraded")
        shown = _cli_with(env, "destination", "status", data=server.data)
        assert shown.returncode == 0, shown.stderr
        said = " ".join(shown.stderr.split())
        assert "does not use this configuration" in said and "HOOK_SECRET" in said, said
        as_json = loads(_cli_with(env, "destination", "status", "--format", "json", data=server.data).stdout)
        assert "HOOK_SECRET" in as_json["config_problem"]
        assert SECRET not in shown.stdout + shown.stderr
    finally:
        server.close()


def configuration_table(name: str, options: list[str]) -> str:
    values = dict(o.split("=", 1) for o in options if o != "-o")
    lines = [f"\n[properties.default.destinations.{name}]", 'type = "webhook"']
    lines += [f'{k} = "{v}"' for k, v in values.items()]
    return "\n".join(lines) + "\n"


# (command, exit code, what it says): a destination's env:VAR is the server's, not this shell's
UNSET_COMMANDS = [
    (("property", "list"), 0, "default"),
    (("destination", "list"), 0, "hook"),
    (("destination", "status"), 0, "default.hook"),
    (
        ("destination", "test", "hook"),
        1,
        "expected the environment variable TW_UNSET_HOOK_SECRET to be set here",
    ),
    (("destination", "retry", "hook", "--all"), 1, "TW_UNSET_HOOK_SECRET"),
]


@pytest.mark.parametrize(
    ("args", "code", "says"), UNSET_COMMANDS, ids=[" ".join(a[:2]) for a, _, _ in UNSET_COMMANDS]
)
def test_commands_that_do_not_send_work_without_the_servers_env_variables(
    tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    # every command but `stop` failed: "option secret = 'env:...': expected the environment variable ..."
    cli("property", "add", "default", data=tmp_path)
    path = configuration.config_path(tmp_path, None)
    options = ["-o", "url=http://127.0.0.1:9/in", "-o", "secret=env:TW_UNSET_HOOK_SECRET"]
    path.write_text(path.read_text() + configuration_table("hook", options))
    done = cli(*args, data=tmp_path, check=False)
    assert done.returncode == code, done.stdout + done.stderr
    assert says in " ".join((done.stdout + done.stderr).split())
    assert "Traceback" not in done.stderr


def test_status_in_80_columns_shows_every_name_whole_and_each_last_error_in_full(monkeypatch) -> None:
    """Two destinations of one property showed as `default.…` each, and a last error as a
    few cut words: the names are never cut, the errors are printed whole under the table."""
    import io

    from rich.console import Console

    screen = io.StringIO()
    monkeypatch.setattr(destination_cmds, "stdout", Console(file=screen, width=80, highlight=False))
    error = "refused: expected client_id or app_instance_id in the event, got neither; GA4 needs one"
    base = {"state": "running", "delivered": 1234, "skipped": {}, "lag_capped": False, "hint": ""}
    base |= {"lag_events": 0, "lag_seconds": 0.0, "lag_bytes": 0, "retry_at": ""}
    rows = [
        base | {"destination": "default.analytics", "dead_letters": 2, "last_error": error},
        base | {"destination": "default.hook", "dead_letters": 0, "last_error": ""},
    ]
    destination_cmds._status_table(rows)
    text = screen.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "│ default.analytics │" in text and "│ default.hook " in text and "…" not in text
    assert f"default.analytics: last error: {error}" in " ".join(text.split())
    assert "default.hook: last error" not in text
