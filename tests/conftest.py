"""Suite-wide rules: a skipped test fails the run (CI must never pass by skipping)."""

from __future__ import annotations

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        message = f"FAILED: {len(skipped)} test(s) skipped; a skipped test is a failing test"
        reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
