"""``trackway dashboard``: a one-time sign-in link, and an instance token when none exists."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import click
import pytest
from click.testing import CliRunner

from trackway import config as configuration
from trackway.cli.dashboard_cmd import dashboard, signin_link
from trackway.server.sessions import Sessions


@pytest.fixture
def data(tmp_path: Path) -> Path:
    configuration.add_property(configuration.config_path(tmp_path, None), "shop", "EUR")
    return tmp_path


def code_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["code"][0]


def test_a_server_without_an_instance_token_gets_one(data: Path) -> None:
    assert not configuration.load(configuration.config_path(data, None)).server["admin_token"]
    link, note = signin_link(data, None, "http://127.0.0.1:8080")
    assert link.startswith("http://127.0.0.1:8080/signin?code=") and "Added the server's admin token" in note
    assert configuration.load(configuration.config_path(data, None)).server["admin_token"]
    assert Sessions(data).redeem(code_of(link)) == "*"
    again, note = signin_link(data, None, "http://127.0.0.1:8080")
    assert note == "" and again != link  # the token is kept; each link is new


def test_a_property_link_grants_that_property(data: Path) -> None:
    link, note = signin_link(data, None, "http://h", "shop")
    assert note == "" and Sessions(data).redeem(code_of(link)) == "shop"
    assert not configuration.load(configuration.config_path(data, None)).server["admin_token"]


def test_an_unknown_property_is_refused_with_the_known_ones(data: Path) -> None:
    with pytest.raises(click.ClickException) as err:
        signin_link(data, None, "http://h", "nope")
    assert "shop" in err.value.message and "'nope'" in err.value.message


def test_the_command_needs_a_running_server(data: Path) -> None:
    result = CliRunner().invoke(dashboard, ["--data", str(data)])
    assert (
        result.exit_code == 1 and "no server runs on" in result.output and "trackway serve" in result.output
    )


# (what is added to trackway.toml, exit code, what the output says)
FILES = [
    ('\n[server]\nport = "abc"\n', 1, "expected int"),  # was a ConfigError traceback
    (
        '\n[properties.shop.destinations.hook]\ntype = "webhook"\nurl = "https://h.example/in"\n'
        'secret = "env:TW_TEST_UNSET_SECRET"\n',
        0,
        "/signin?code=",
    ),  # the server's variable, not set in this shell: the link is made all the same
]


@pytest.mark.parametrize(("added", "code", "says"), FILES, ids=["bad port", "unset env secret"])
def test_a_configuration_problem_is_said_without_a_traceback(
    data: Path, monkeypatch: pytest.MonkeyPatch, added: str, code: int, says: str
) -> None:
    from trackway.cli import dashboard_cmd
    from trackway.server.supervisor import ServerState

    monkeypatch.delenv("TW_TEST_UNSET_SECRET", raising=False)
    path = configuration.config_path(data, None)
    path.write_text(path.read_text() + added)
    running = ServerState(pid=1, url="http://127.0.0.1:8080", socket="/nonexistent")
    monkeypatch.setattr(dashboard_cmd, "running", lambda _data: running)
    result = CliRunner().invoke(dashboard, ["--data", str(data)])
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.exception
    assert says in " ".join(result.output.split()), result.output
