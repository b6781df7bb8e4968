"""Colour in validate/convert output: on a terminal only, as NO_COLOR / FORCE_COLOR / TERM say."""

from __future__ import annotations

import io

import pytest

from trackway.cli import style
from trackway.issues import Issue, Severity


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "env", "expected"),
    [
        (Tty(), {}, "\x1b[31mno\x1b[0m"),
        (io.StringIO(), {}, "no"),  # a pipe, a file: plain
        (io.StringIO(), {"FORCE_COLOR": "1"}, "\x1b[31mno\x1b[0m"),
        (Tty(), {"TERM": "dumb"}, "no"),
        (Tty(), {"NO_COLOR": "1"}, "no"),  # a colour and nothing else: nothing left
    ],
    ids=["terminal", "pipe", "force", "dumb", "no-color"],
)
def test_colour_follows_the_stream_and_the_environment(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, env: dict[str, str], expected: str
) -> None:
    for name in ("FORCE_COLOR", "NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.stdout", stream)
    assert style.out.style("no", "red") == expected


def test_no_color_keeps_bold_and_dim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("sys.stdout", Tty())
    assert style.out.style("x", "bold", "red") == "\x1b[1mx\x1b[0m"


def test_issue_line_plain_has_severity_path_code_and_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    issue = Issue("$.items[0].price", "TYPE_INVALID", Severity.ERROR, "expected a number, got 'x'; send 1.5")
    line = style.issue_line(style.err, issue, prefix="f #0: ")
    assert line == "f #0: error   $.items[0].price TYPE_INVALID expected a number, got 'x'; send 1.5"
