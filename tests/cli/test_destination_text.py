"""`trackway destination` on a data directory without a server: what `add` checks of a
selection, how URLs with credentials are listed, and the time window of `replay`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from trackway import config as configuration
from trackway.cli.main import cli

HOOK = ["--type", "webhook", "-o", "url=http://127.0.0.1:9/in", "-o", "secret=whsec_x"]


def run(data: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--data", str(data)], catch_exceptions=False)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    configuration.add_property(tmp_path / "trackway.toml", "default")
    return tmp_path


def _said(result: Result) -> str:
    return " ".join((result.output + (result.stderr if result.stderr_bytes else "")).split())


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        # a typo selected nothing, silently
        (["--dialects", "ga4mp"], 2, "expected dialect names"),
        (["--dialects", "ga4mp"], 2, "did you mean 'ga4-mp'?"),
        (["--events", "purchse"], 0, "no dialect documents an event named 'purchse'"),
        (["--events", "purchse"], 0, "did you mean 'purchase'?"),
        (["--events", "my_custom_event"], 0, "only events of exactly that canonical name are forwarded"),
        (["--events", "purchase,refund", "--dialects", "ga4-mp,gtm-ga4"], 0, "added default.hook"),
        # `-o failed=true` pointed at a --failed that did not exist
        (["--failed"], 0, "added default.hook"),
        (["-o", "failed=true"], 2, "failed has its own option (--failed)"),
    ],
)
def test_add_checks_the_selection(data: Path, args: list[str], code: int, said: str) -> None:
    result = run(data, "destination", "add", "default", "hook", *HOOK, *args)
    assert result.exit_code == code, result.output
    assert said in _said(result)


def test_add_failed_is_written_and_refused_for_a_type_that_cannot_take_it(data: Path) -> None:
    assert run(data, "destination", "add", "default", "hook", *HOOK, "--failed").exit_code == 0
    [listed] = json.loads(run(data, "destination", "list", "--format", "json").output)
    assert listed["failed"] is True
    ga4 = ["--type", "ga4", "-o", "measurement_id=G-ABC123", "-o", "api_secret=s", "--failed"]
    refused = run(data, "destination", "add", "default", "g", *ga4)
    assert refused.exit_code == 1 and "only webhook carries failed payloads" in _said(refused)


def test_a_url_with_credentials_is_listed_redacted(data: Path) -> None:
    url = "url=https://hookuser:HOOKPASS@hook.example/in?token=QUERYTOKEN"
    options = ["--type", "webhook", "-o", url, "-o", "secret=whsec_x"]
    assert run(data, "destination", "add", "default", "hook", *options).exit_code == 0
    for fmt in ("text", "json"):
        shown = run(data, "destination", "list", "--format", fmt).output
        assert "[redacted]" in shown  # not eaten as markup by the table
        assert "HOOKPASS" not in shown and "QUERYTOKEN" not in shown and "hookuser" not in shown


@pytest.mark.parametrize(
    ("window", "said"),
    [
        (["--since", "1h", "--until", "2h"], "Invalid value for --until: expected a time after --since"),
        (["--since", "yesterday-ish"], "Invalid value for --since"),
        (["--since", "1h", "--until", "soon"], "Invalid value for --until"),
    ],
)
def test_replay_names_the_option_whose_time_is_wrong(data: Path, window: list[str], said: str) -> None:
    assert run(data, "destination", "add", "default", "hook", *HOOK).exit_code == 0
    result = run(data, "destination", "replay", "hook", *window)
    assert result.exit_code == 2 and said in _said(result), _said(result)


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["1", "--all"], 2, "expected dead letter numbers or --all, got both"),
        (["--all"], 0, "default.hook: no dead letters to retry"),
    ],
)
def test_retry_says_what_it_did(data: Path, args: list[str], code: int, said: str) -> None:
    assert run(data, "destination", "add", "default", "hook", *HOOK).exit_code == 0
    result = run(data, "destination", "retry", "hook", *args)
    assert result.exit_code == code and said in _said(result), _said(result)


def test_test_says_why_nothing_answered(data: Path) -> None:
    # it printed "no answer (empty body)" whatever the reason
    assert run(data, "destination", "add", "default", "hook", *HOOK).exit_code == 0
    result = run(data, "destination", "test", "hook")
    assert result.exit_code == 1
    assert "Connection refused" in _said(result) or "ConnectionRefusedError" in _said(result), _said(result)
    assert "whsec_x" not in result.output


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ('{"validationMessages": []}', "no messages (the event is valid)"),
        ('{"ok": true}', "nothing validated the event"),  # a proxy: it said "the event is valid"
        ("[1, 2]", "nothing validated the event"),
        (
            '{"validationMessages": [{"validationCode": "VALUE_INVALID", "fieldPath": "events", '
            '"description": "d"}]}',
            "GA4 validation: VALUE_INVALID at events: d",
        ),
    ],
)
def test_ga4_test_says_what_the_answer_validated(
    answer: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from trackway.cli import destination_cmds

    destination_cmds._ga4_messages(answer)
    assert said in capsys.readouterr().out


def test_pause_and_resume_say_when_nothing_changed(data: Path) -> None:
    # "resumed" was printed for a destination that had never been paused
    assert run(data, "destination", "add", "default", "hook", *HOOK).exit_code == 0
    steps = [("resume", "was already sending"), ("pause", "paused"), ("pause", "was already paused")]
    steps.append(("resume", "resumed"))
    for command, said in steps:
        result = run(data, "destination", command, "hook")
        assert result.exit_code == 0 and said in _said(result), (command, result.output)
