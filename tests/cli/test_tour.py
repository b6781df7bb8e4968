"""``trackway tour`` runs each command line it shows in-process, without click's test
runner, and shows exactly what that command line prints when run on its own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from trackway.cli import tour
from trackway.cli.main import cli

FOLDER = tour.examples_dir()
STEP_ARGS = [[*args, *(str(FOLDER / f) for f in files)] for _, args, files in tour.STEPS]
# Lines the tour does not show, run the same way: each outcome click or a command can have.
OTHER_ARGS = [
    ["validate", "--dialect", "nope", str(FOLDER / "shop.js")],  # usage error: 2, message on stderr
    ["validate", str(FOLDER / "missing.json")],  # unreadable input: 2
    ["convert", str(FOLDER / "shop.js")],  # a required option missing: 2
    ["nope"],  # no such command: 2
]


def alone(args: list[str]):
    """The command line run on its own (click's test runner, as the other CLI tests run it)."""
    return CliRunner().invoke(cli, args, prog_name="trackway", catch_exceptions=False)


@pytest.mark.parametrize(
    "args",
    STEP_ARGS + OTHER_ARGS,
    ids=[f"step-{i}" for i in range(len(STEP_ARGS))]
    + ["unknown-dialect", "missing-file", "missing-option", "unknown-command"],
)
def test_run_writes_and_exits_as_the_command_alone(args: list[str]) -> None:
    ran = tour.run(args)
    expected = alone(args)
    assert (ran.stdout, ran.stderr, ran.status) == (expected.stdout, expected.stderr, expected.exit_code)
    assert ran.stdout or ran.stderr  # every line above prints something


def test_run_answers_help_with_status_0() -> None:
    """Click ends ``--help`` with its Exit(0) (the text wraps at the terminal's width, the
    test runner's at 80 columns, so it is not compared)."""
    ran = tour.run(["validate", "--help"])
    assert (ran.status, ran.stderr) == (0, "")
    assert ran.stdout.startswith("Usage: trackway validate [OPTIONS] [FILES]...")


def test_run_leaves_the_real_streams_alone(capsys: pytest.CaptureFixture[str]) -> None:
    ran = tour.run(STEP_ARGS[0])
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert ran.stdout


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [(None, 0, ""), (0, 0, ""), (1, 1, ""), (2, 2, ""), ("stopped: why", 1, "stopped: why\n")],
)
def test_an_exit_code_is_read_as_a_shell_would(code: object, status: int, message: str) -> None:
    assert tour._status(code) == (status, message)


def test_the_tour_shows_each_step_with_its_own_output_in_order() -> None:
    result = alone(["tour"])
    assert result.exit_code == 0, result.output
    position = 0
    for (_, args, files), step in zip(tour.STEPS, STEP_ARGS, strict=True):
        command = f"$ trackway {' '.join(args + [tour.shown_path(str(FOLDER / f)) for f in files])}\n"
        ran = alone(step)
        section = f"{command}{ran.stdout}{ran.stderr}(exit status {ran.exit_code})\n"
        found = result.stdout.find(section, position)
        assert found >= 0, f"the tour does not show {command!r} followed by its output"
        position = found + len(section)
    statuses = [alone(step).exit_code for step in STEP_ARGS]
    assert 1 in statuses and 0 in statuses  # the tour shows a failing and a passing check


# A fresh interpreter runs the tour and lists the modules it then holds.
RUN_TOUR = """
import json, sys
from trackway.cli.main import cli
try:
    cli(["tour"], prog_name="trackway")
except SystemExit as exc:
    status = exc.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def test_the_tour_does_not_import_clicks_test_runner() -> None:
    proc = subprocess.run([sys.executable, "-c", RUN_TOUR], capture_output=True, text=True, check=False)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["status"] == 0, proc.stderr
    assert "trackway.cli.validate" in report["modules"]  # it did run the steps
    assert "click.testing" not in report["modules"]


def test_each_command_shown_runs_as_printed_from_where_the_tour_started(tmp_path, monkeypatch) -> None:
    """The shown path names the example from the working directory (or in full when the
    examples are elsewhere): the line copied into a shell reads the same file."""
    example = FOLDER / "shop.js"
    for where in (tmp_path, FOLDER.parent):
        monkeypatch.chdir(where)
        shown = tour.shown_path(str(example))
        assert (where / shown).resolve() == example.resolve()
    monkeypatch.chdir(FOLDER.parent)
    assert tour.shown_path(str(example)) == "examples/shop.js"
