"""How the demo tells a newcomer to call Trackway again."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackway.cli import demo_cmd


@pytest.mark.parametrize(
    ("argv0", "on_path", "expected"),
    [
        (".venv/bin/trackway", None, ".venv/bin/trackway"),  # make run: not on PATH
        (".venv/bin/trackway", ".venv/bin/trackway", "trackway"),  # an activated venv
        (".venv/bin/trackway", "/usr/local/bin/trackway", ".venv/bin/trackway"),  # another install
        ("/somewhere/else/bin/trackway", None, "/somewhere/else/bin/trackway"),
        ("-m", None, "trackway"),  # python -m trackway
    ],
)
def test_command_names_the_program_as_the_shell_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv0: str, on_path: str | None, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [argv0, "demo"])
    found = str(tmp_path / on_path) if on_path and not on_path.startswith("/") else on_path
    monkeypatch.setattr(demo_cmd.shutil, "which", lambda name: found if name == "trackway" else None)
    assert demo_cmd._command() == expected
