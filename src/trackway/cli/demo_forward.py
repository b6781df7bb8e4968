"""The demo's forwarding: the shop forwards to a second Trackway, which receives as GA4,
Commanders Act and Convead would (its endpoints are wire-compatible), and the demo
prints what arrived there and what was refused on the way (and why).

The receiver runs on ``<demo data>/receiver`` with one property, ``shop``; the demo's
``shop`` property declares three destinations pointing at it (``ga4``,
``commanders-act``, ``convead``), each with the receiver's own keys.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
from rich.markup import escape
from rich.table import Table

from trackway import config as configuration
from trackway.cli.common import AdminClient
from trackway.cli.output import stdout
from trackway.cli.serverctl import port_free, start_server
from trackway.destinations import deadletters, position, runner, status
from trackway.ingest import backlog
from trackway.server.supervisor import ServerState, running

FOLDER = "receiver"
PROPERTY = "shop"
SETTLE_S = 60.0


# Convead takes one event a request, GA4 a client's: several in flight, each client's in order.
IN_FLIGHT = {"convead": 4, "ga4": 4}


def _options(keys: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "ga4": {"measurement_id": keys["ga4_measurement_id"], "api_secret": keys["ga4_api_secret"]},
        "commanders-act": {"site": keys["commanders_act_site"], "token": keys["commanders_act_token"]},
        "convead": {"app_key": keys["convead_app_key"]},
    }


def receiver(data: Path, port: int) -> ServerState:
    """The second instance, started if it is not running (on ``port`` when free)."""
    where = data / FOLDER
    state = running(where)
    if state is not None:
        return state
    path = configuration.config_path(where, None)
    if not path.exists():
        configuration.add_property(path, PROPERTY, "EUR")
    return start_server(where, port if port_free(port) else 0)


def declare(data: Path, url: str) -> None:
    """The shop's destinations, pointing at the receiver at ``url`` (declared again when
    it moved to another port)."""
    path = configuration.config_path(data, None)
    keys = configuration.load(configuration.config_path(data / FOLDER, None)).properties[PROPERTY].keys()
    declared = configuration.load(path).properties[PROPERTY].destinations
    for kind, options in _options(keys).items():
        name = kind.replace("-", "_")
        found = declared.get(name)
        if found is not None and found.options.get("base_url") == url:
            continue
        if found is not None:
            configuration.remove_destination(path, PROPERTY, name)
        table: dict[str, Any] = {"type": kind, **options, "base_url": url}
        if kind in IN_FLIGHT:
            table["in_flight"] = IN_FLIGHT[kind]
        configuration.add_destination(path, PROPERTY, name, table)
        if found is None:  # from the log's start (the whole demo), not from when the server sees it
            did = f"{PROPERTY}.{name}"
            position.PositionStore(runner.Files(data, did).position, did).save({})


def show(data: Path, receiver_state: ServerState) -> None:
    """Wait (bounded) until every destination has passed the log, then print what each
    delivered, what it refused and why, and what the receiver stored."""
    cfg = configuration.load(configuration.config_path(data, None))
    found = [d for d in cfg.destinations().values() if d.property == PROPERTY]
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        lags = [backlog.behind(data / "log", _committed(data, d.id)) for d in found]
        if all(lag.events == 0 for lag in lags):
            break
        time.sleep(0.5)
    table = Table(title=f"Forwarded to a second Trackway at {receiver_state.url}", show_lines=True)
    for column in ("destination", "delivered", "refused (dead letters)", "top reasons"):
        table.add_column(column)
    for d in found:
        files = runner.Files(data, d.id)
        s = status.load(files.status, d.id)
        letters = deadletters.DeadLetters(files.dead).pending()
        reasons = Counter(_short(letter.reason) for letter in letters).most_common(2)
        top = "\n".join(f"{n} × {r}" for r, n in reasons) or "-"
        table.add_row(d.id, f"{s.delivered:,}", f"{s.dead_lettered:,}", escape(top))
    stdout.print(table)
    client = AdminClient(receiver_state.socket)
    rows = client.call(
        "POST", "/api/sql", json={"query": "select dialect, count(*) as n from events group by 1"}
    )
    failed = client.call("POST", "/api/sql", json={"query": "select count(*) from failed_events"})
    arrived = ", ".join(f"{r[1]:,} {r[0]}" for r in sorted(rows["rows"])) or "nothing"
    stdout.print(
        f"The receiver stored {arrived}; it found {failed['rows'][0][0]} invalid. "
        f"`trackway destination status --data {data}` shows the lag and errors."
    )


def _committed(data: Path, did: str) -> dict[str, position.Position]:
    try:
        return position.PositionStore(runner.Files(data, did).position, did).load()
    except position.PositionError:
        return {}


def _short(reason: str) -> str:
    """A refusal's reason without its preamble: the first issue's path and message."""
    text = reason.split("not sent: ", 1)[-1].split(", got", 1)[0]
    return msgspec.json.encode(text[:90]).decode()[1:-1]
