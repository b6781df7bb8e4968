"""Plain lines with a little colour, for the commands that must start fast.

``validate`` and ``convert`` print a handful of lines: importing rich for them would
cost 21 ms, a quarter of their start (docs/performance.md), so they colour with ANSI
codes themselves. Colour follows the conventions rich follows: only on a terminal, never
with ``NO_COLOR`` set (bold and dim stay), always with ``FORCE_COLOR`` set, never on
``TERM=dumb``. The other commands print tables and progress bars with rich
(:mod:`trackway.cli.output`).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from trackway.issues import Issue, Severity

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
_COLOURS = frozenset({"red", "green", "yellow", "cyan"})


def colour_on(stream: TextIO) -> bool:
    """Whether ANSI styles go to ``stream``: a terminal, unless the environment says otherwise."""
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM", "").lower() in ("dumb", "unknown") or sys.platform == "win32":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


class Writer:
    """Lines to stdout or stderr (whichever is current when a line is written, so that
    a redirect captures them: the tour's, click's test runner in the tests), styled when
    the stream takes colour."""

    def __init__(self, *, err: bool = False) -> None:
        self.err = err

    @property
    def stream(self) -> TextIO:
        return sys.stderr if self.err else sys.stdout

    def style(self, text: str, *styles: str) -> str:
        """``text`` in ``styles`` (bold, dim, red, green, yellow, cyan) when colour is on."""
        stream = self.stream
        if not styles or not colour_on(stream):
            return text
        plain = bool(os.environ.get("NO_COLOR")) and not os.environ.get("FORCE_COLOR")
        codes = [_CODES[s] for s in styles if not (plain and s in _COLOURS)]
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if codes else text

    def line(self, text: str = "") -> None:
        stream = self.stream
        stream.write(text + "\n")
        stream.flush()


out = Writer()
err = Writer(err=True)


def issue_line(w: Writer, issue: Issue, prefix: str = "  ") -> str:
    """One issue: severity, JSON path, code and message (what was expected, what came, the fix)."""
    colour = "red" if issue.severity is Severity.ERROR else "yellow"
    return (
        f"{prefix}{w.style(f'{issue.severity.value:7}', colour)} {w.style(issue.path, 'bold')} "
        f"{w.style(issue.code, 'dim')} {issue.message}"
    )


def unreadable(exc: Exception) -> None:
    """The line for input that cannot be read (exit status 2): a file the system refused
    is named with the reason in words and the fix, not as ``[Errno 2] ...``."""
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = (exc.strerror or type(exc).__name__).lower()
        text = f"{exc.filename}: {reason}; expected a readable file of payloads (or - for stdin)"
    else:
        text = str(exc)
    err.line(f"{err.style('error:', 'red')} cannot read input: {text}")
