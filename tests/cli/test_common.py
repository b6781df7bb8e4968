"""trackway.cli.common: the admin client says a server that went away in words, not a traceback."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import click

from trackway.cli.common import AdminClient


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
