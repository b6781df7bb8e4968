"""trackway.cli.common: the admin client says a server that went away in words, not a
traceback; ``--property`` refuses an empty name."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from trackway.cli.common import AdminClient
from trackway.cli.main import cli


def _said(client: AdminClient) -> str:
    try:
        client.call("POST", "/api/forget", json={"user": "u"})
    except click.ClickException as exc:
        return exc.message
    return "no error"


def test_a_server_gone_under_a_request_is_said_in_words(tmp_path: Path) -> None:
    # forget, quarantine retry and replay printed httpx's traceback when the server had gone
    # (its socket left behind by a killed server; a server dying mid-request is the same
    # httpx.TransportError family)
    client = AdminClient(str(tmp_path / "admin.sock"))
    with warnings.catch_warnings():  # httpcore leaves the socket of a refused Unix connect to the GC
        warnings.simplefilter("ignore", ResourceWarning)
        said = _said(client)
        client.http.close()
        gc.collect()
    assert "the server stopped answering during POST /api/forget" in said and "run the command again" in said


@pytest.mark.parametrize(
    "args",
    [
        ["report", "funnel"],
        ["replay"],
        ["forget", "--user", "bob"],
        ["subject-export", "--user", "bob"],
        ["identity", "show", "bob"],
        ["quarantine", "list"],
        ["dashboard"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_property_is_refused_not_taken_for_every_property(
    tmp_path: Path, args: list[str], empty: str
):
    result = CliRunner().invoke(cli, [*args, "--property", empty, "--data", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "expected a property name" in result.output and "leave --property out" in result.output
