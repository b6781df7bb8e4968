from __future__ import annotations

from typing import Any

from tests.fuzz import findings


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = findings.summary()
    if lines:
        terminalreporter.write_sep("-", "fuzz: requests tried")
        for line in lines:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"findings: {findings.path()}")
