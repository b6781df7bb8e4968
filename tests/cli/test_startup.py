"""What ``trackway validate`` and ``convert`` load: only what they need (issue 13, section 5).

Each command runs in a fresh interpreter, which then lists the modules it holds. A
guard on behaviour, not on time (bench/cli.py measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trackway.cli.main import COMMANDS

PAYLOAD = (
    '{"event": "purchase", "ecommerce": {"transaction_id": "T1", "value": 10, "currency": "EUR", '
    '"items": [{"item_id": "a", "item_name": "A", "price": 10, "quantity": 1}]}}'
)
# Not needed to check or convert one payload: the server, the store, the demo, tables.
HEAVY = (
    "rich",
    "duckdb",
    "pyarrow",
    "httpx",
    "uvicorn",
    "psutil",
    "pycountry",  # read at the first country code
    "iso4217",  # its table is a literal (trackway.rules.currency_table)
    "email_validator",  # read at the first email address
    "phonenumbers",  # read at the first phone number
    "trackway.server",
    "trackway.store",
    "trackway.ingest",
    "trackway.demo",
    "trackway.reports",
    "trackway.state",
    "trackway.config",
)

RUN = """
import json, sys
from trackway.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="trackway")
except SystemExit as exc:
    status = exc.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def loaded(*args: str, stdin: str = "") -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", RUN, *args], input=stdin, capture_output=True, text=True, check=False
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["status"], set(report["modules"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "args",
    [
        ("validate",),
        ("validate", "--format", "json"),
        ("convert", "--to", "gtm-ua"),
        ("convert", "--to", "commanders-act", "--preset", "2checkout"),
    ],
    ids=["validate-text", "validate-json", "convert", "convert-preset"],
)
def test_validate_and_convert_load_no_heavy_module(args: tuple[str, ...]) -> None:
    status, modules = loaded(*args, stdin=PAYLOAD)
    assert status == 0
    assert "trackway.vendors.ga4.gtm" in modules  # it did decode the payload
    assert heavy(modules) == [], f"trackway {' '.join(args)} imported modules it does not need"


def test_an_email_loads_its_validator_when_it_is_read() -> None:
    """The guard's other side: the lazy imports do load when a payload needs them."""
    ca = '["trigger", "sign_up", {"method": "email", "user": {"id": "u1", "email": "a@example.com"}}]'
    status, modules = loaded("validate", "--dialect", "commanders-act", stdin=ca)
    assert status == 0
    assert "email_validator" in modules


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    status, modules = loaded("--help")
    assert status == 0
    imported = sorted(m for m in modules if m.startswith("trackway.cli.") and m != "trackway.cli.main")
    assert imported == []
    assert heavy(modules) == []


def test_each_table_entry_is_the_command_with_its_own_help() -> None:
    """The help ``trackway --help`` shows without importing is the command's docstring."""
    import importlib

    import click

    for name, (target, short) in COMMANDS.items():
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), target
        assert command.name == name, target
        assert command.get_short_help_str(limit=10_000) == short, name


def test_help_shows_every_command_and_runs_them_by_name() -> None:
    from click.testing import CliRunner

    from trackway.cli.main import cli

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS)
    assert CliRunner().invoke(cli, ["tour", "--help"]).exit_code == 0
    unknown = CliRunner().invoke(cli, ["nope"])
    assert unknown.exit_code == 2 and "No such command 'nope'" in unknown.output
