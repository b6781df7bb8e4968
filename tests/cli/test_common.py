"""trackway.cli.common: the admin client says a server that went away in words, not a
traceback; ``--property`` refuses an empty name."""

from __future__ import annotations

import gc
import warnings
from decimal import Decimal
from pathlib import Path

import click
import httpx
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


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        (b'{"rows": [[1234567890123456.78]]}', Decimal("1234567890123456.78")),
        (b'{"rows": [[9999999999999999999.99]]}', Decimal("9999999999999999999.99")),
        (b'{"rows": [[16.00]]}', Decimal("16.00")),
        (b'{"rows": [[42]]}', 42),
    ],
)
def test_amounts_from_a_running_server_are_read_exactly(tmp_path: Path, sent: bytes, read: object) -> None:
    # `trackway sql` and `export` printed 1234567890123456.8 and 1e+19 with a server running
    # (httpx's response.json() reads floats), the exact amounts with it stopped.
    client = AdminClient(str(tmp_path / "admin.sock"))
    client.http.close()
    client.http = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=sent)),
        base_url="http://store",
    )
    [[value]] = client.call("POST", "/api/sql", json={"query": "SELECT 1"})["rows"]
    assert value == read and type(value) is type(read)
    client.http.close()


def test_an_answer_that_is_not_json_is_said_in_words(tmp_path: Path) -> None:
    client = AdminClient(str(tmp_path / "admin.sock"))
    client.http.close()
    client.http = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(502, content=b"<html>Bad gateway")),
        base_url="http://store",
    )
    with pytest.raises(
        click.ClickException, match="expected JSON from GET /api/events, got b'<html>Bad gateway'"
    ):
        client.call("GET", "/api/events")
    client.http.close()
