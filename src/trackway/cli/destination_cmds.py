"""``trackway destination``: declare where a property's events are forwarded, and watch it.

The declarations live in ``trackway.toml`` (:mod:`trackway.destinations.configured`); a
running server picks every change up within a second (its forwarding process reads the
file again). Status, dead letters and positions are files under ``run/destinations/``
(:mod:`trackway.destinations.runner`), read here directly.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import msgspec
from rich.markup import escape
from rich.table import Table

from trackway import config as configuration
from trackway.cli.common import data_options, load_config, store_access
from trackway.cli.destination_text import check_selection, counted
from trackway.cli.output import print_json, stderr, stdout
from trackway.cli.serverctl import config_problem, missing_from_server
from trackway.cli.store_cmds import _pages, _window
from trackway.config import Config
from trackway.destinations import deadletters, overview, resend, runner, types
from trackway.destinations.configured import SELECTION, Destination
from trackway.destinations.http import Sender
from trackway.destinations.inflight import MAX_IN_FLIGHT
from trackway.errors import ConfigError
from trackway.model import Event, from_json
from trackway.server import metrics
from trackway.server.supervisor import running
from trackway.store.base import Query


@click.group()
def destination() -> None:
    """Where each property's events are forwarded: add, list, status, test, replay, dead letters."""


def _find(cfg: Config, ref: str, prop: str | None = None) -> Destination:
    """A destination by ``PROPERTY.NAME``, or by ``NAME`` alone when only one property has it."""
    found = cfg.destinations()
    if prop is not None:
        ref = f"{prop}.{ref}"
    if ref in found:
        return found[ref]
    matches = [d for d in found.values() if d.name == ref]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(found)) or "(none: add one with `trackway destination add`)"
    if len(matches) > 1:
        raise click.ClickException(
            f"destination {ref!r} is in several properties; write PROPERTY.NAME: {known}"
        )
    raise click.ClickException(f"destination {ref!r}: expected one of {known}")


def _sendable(d: Destination) -> Destination:
    """``d``, if this command can send to it: its ``env:`` options are set in this shell."""
    try:
        d.require()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return d


def _option(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in values:
        key, eq, value = text.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {text!r}", param_hint="-o/--option")
        if key in SELECTION:
            raise click.BadParameter(f"{key} has its own option (--{key.replace('_', '-')})", param_hint="-o")
        out[key] = int(value) if value.isascii() and value.isdigit() and key.startswith("max_") else value
    return out


@destination.command("add")
@click.argument("prop", metavar="PROPERTY")
@click.argument("name")
@click.option(
    "--type", "kind", required=True, help="Destination type: " + ", ".join(sorted(types.types())) + "."
)
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    help="A type's option as KEY=VALUE (repeat); 'env:VAR' reads it from the environment.",
)
@click.option("--events", default="", help="Canonical event names to send, comma-separated [default: all].")
@click.option("--dialects", default="", help="Only events that arrived in these dialects [default: all].")
@click.option(
    "--consent", default=None, help="Purpose an event must have granted (analytics, marketing, ...)."
)
@click.option(
    "--identifiers",
    type=click.Choice(["keep", "hash", "drop"]),
    default="hash",
    show_default=True,
    help="What leaves of email and phone.",
)
@click.option(
    "--max-age-s",
    type=int,
    default=None,
    help="Retry a failing request this long after its oldest event arrived [default: 86400].",
)
@click.option(
    "--in-flight",
    type=click.IntRange(1, MAX_IN_FLIGHT),
    default=None,
    help="Requests outstanding at once; above 1, order is kept per visitor, not overall [default: 1].",
)
@click.option("--paused", is_flag=True, help="Declare it paused (the log is kept for it).")
@click.option(
    "--failed", is_flag=True, help="Also forward the payloads that failed validation (webhook only)."
)
@data_options
def add(
    prop: str,
    name: str,
    kind: str,
    options: tuple[str, ...],
    events: str,
    dialects: str,
    consent: str | None,
    identifiers: str,
    max_age_s: int | None,
    in_flight: int | None,
    paused: bool,
    failed: bool,
    data: Path,
    config_file: Path | None,
) -> None:
    """Forward PROPERTY's events to NAME, from now on (older ones: `destination replay`)."""
    values: dict[str, Any] = {"type": kind, **_option(options)}
    for key, text in (("events", events), ("dialects", dialects)):
        if text:
            values[key] = [v.strip() for v in text.split(",") if v.strip()]
    check_selection(values.get("events", []), values.get("dialects", []))
    if failed:
        values["failed"] = True
    if consent:
        values["consent"] = consent
    values["identifiers"] = identifiers
    if max_age_s is not None:
        values["max_age_s"] = max_age_s
    if in_flight is not None:
        values["in_flight"] = in_flight
    if paused:
        values["paused"] = True
    path = configuration.config_path(data, config_file)
    lacking = missing_from_server(data, values)
    if lacking is not None and lacking[1]:
        pid, names = lacking
        raise click.ClickException(
            f"expected the server running on {data} (pid {pid}) to have {', '.join(names)} in its "
            "environment, got none: it could not read the file with this destination in it, and would "
            "go on with the configuration before it, ignoring every later change too. A process's "
            f"environment is fixed when it starts: stop the server (trackway stop --data {data}), add "
            f"the destination, and start it again with {', '.join(names)} set"
        )
    try:
        found = configuration.add_destination(path, prop, name, values)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    runner.Files(data, found.id).remove()  # files a removed destination of that name left
    runner.start_at_end(data, found.id)  # from now on, whenever the server notices it
    stdout.print(f"added {found.id} ({found.type}) to {path}: events acknowledged from now on are forwarded")
    _describe([found])


@destination.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@data_options
def list_(fmt: str, data: Path, config_file: Path | None) -> None:
    """Every destination with its type, selection and options (secrets hidden)."""
    cfg = _config(data, config_file)
    found = list(cfg.destinations().values())
    if fmt == "json":
        print_json([_summary(d) for d in found])
        return
    if not found:
        stdout.print("no destinations: add one with `trackway destination add PROPERTY NAME --type TYPE`")
        return
    _describe(found)


def _summary(d: Destination) -> dict[str, Any]:
    s = d.selection
    return {
        "id": d.id,
        "property": d.property,
        "name": d.name,
        "type": d.type,
        "paused": d.paused,
        "events": sorted(s.names),
        "dialects": sorted(s.dialects),
        "consent": s.consent,
        "identifiers": s.identifiers,
        "failed": s.failed,
        "max_age_s": d.policy.max_age_s,
        "in_flight": d.in_flight,
        "options": d.shown_options(),
    }


def _describe(found: list[Destination]) -> None:
    table = Table(show_lines=True)
    for column in ("destination", "type", "sends", "options"):
        table.add_column(column)
    for d in found:
        s = d.selection
        sends = [
            f"events: {', '.join(sorted(s.names)) or 'all'}",
            f"dialects: {', '.join(sorted(s.dialects)) or 'all'}",
            f"consent needed: {s.consent or 'none'}",
            f"identifiers: {s.identifiers}",
            f"requests in flight: {d.in_flight}" + (" (order kept per visitor)" if d.in_flight > 1 else ""),
        ]
        if s.failed:
            sends.append("failed payloads too")
        name = d.id + (" (paused)" if d.paused else "")
        options = "\n".join(f"{k} = {v}" for k, v in d.shown_options().items())
        table.add_row(
            escape(name), d.type, escape("\n".join(sends)), escape(options)
        )  # "[redacted]" is no markup
    stdout.print(table)


@destination.command("remove")
@click.argument("ref", metavar="[PROPERTY.]NAME")
@click.option("--yes", is_flag=True, help="Do not ask (its position and dead letters are deleted).")
@data_options
def remove(ref: str, yes: bool, data: Path, config_file: Path | None) -> None:
    """Stop forwarding to a destination and delete its position and dead letters."""
    cfg = _config(data, config_file)
    d = _find(cfg, ref)
    files = runner.Files(data, d.id)
    pending = deadletters.DeadLetters(files.dead).count()
    if not yes:
        click.confirm(f"remove {d.id} ({pending} dead letters are deleted with it)?", abort=True)
    try:
        configuration.remove_destination(cfg.path, d.property, d.name)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if running(data) is not None:
        time.sleep(2 * runner.STATUS_S)  # the server stops its courier before its files go
    files.remove()
    stdout.print(f"removed {d.id}")


@destination.command("pause")
@click.argument("ref", metavar="[PROPERTY.]NAME")
@data_options
def pause(ref: str, data: Path, config_file: Path | None) -> None:
    """Stop sending to a destination; the log is kept for it until `resume`."""
    _pause(ref, True, data, config_file)


@destination.command("resume")
@click.argument("ref", metavar="[PROPERTY.]NAME")
@data_options
def resume(ref: str, data: Path, config_file: Path | None) -> None:
    """Send again, from where the destination was paused."""
    _pause(ref, False, data, config_file)


def _pause(ref: str, paused: bool, data: Path, config_file: Path | None) -> None:
    cfg = _config(data, config_file)
    d = _find(cfg, ref)
    if d.paused == paused:  # "resumed" of a destination that was sending all along
        stdout.print(f"{d.id} was already {'paused' if paused else 'sending (not paused)'}: nothing changed")
        return
    try:
        configuration.pause_destination(cfg.path, d.property, d.name, paused)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    stdout.print(f"{d.id} {'paused' if paused else 'resumed'}")


@destination.command("status")
@click.argument("refs", nargs=-1, metavar="[[PROPERTY.]NAME]...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@data_options
def status_(refs: tuple[str, ...], fmt: str, data: Path, config_file: Path | None) -> None:
    """Per destination: delivered, retrying, dead letters, lag, last error."""
    cfg = _config(data, config_file)
    found = [_find(cfg, r) for r in refs] if refs else list(cfg.destinations().values())
    chosen = list({d.id: d for d in found}.values())  # named twice (hook, shop.hook): one row
    server = running(data)  # once: its last line and the configuration problem speak of one server
    rows = [overview.status_row(data, d, serving=server is not None) for d in chosen]
    retained = metrics.gauge(data / "run" / "metrics" / "store.json", "trackway_log_retained_bytes") or 0
    if fmt == "json":
        print_json(
            {
                "destinations": rows,
                "log_retained_bytes": int(retained),
                "config_problem": config_problem(server),
            }
        )
        return
    if not rows:
        stdout.print("no destinations: add one with `trackway destination add PROPERTY NAME --type TYPE`")
    else:
        _status_table(rows)
        none = "" if server is not None else " (no server runs on this data directory: nothing is forwarded)"
        stdout.print(f"log kept for destinations: {int(retained):,} bytes{none}")
    problem = config_problem(server)
    if problem:
        stderr.print(f"the running server does not use this configuration: {problem}", markup=False)


def _status_table(rows: list[dict[str, Any]]) -> None:
    """The counts in a table whose names are never cut (two destinations of one property
    showed as ``default.…`` each in 80 columns); each last error in full below it, where a
    column could show a few words of it."""
    table = Table(show_lines=True)
    widest = max(len(r["destination"]) for r in rows)
    table.add_column("destination", no_wrap=True, min_width=min(widest, 40), overflow="fold")
    for column in ("state", "delivered", "dead letters", "skipped", "lag"):
        table.add_column(column)
    for r in rows:
        at_least = "≥" if r["lag_capped"] else ""
        lag = f"{at_least}{r['lag_events']} events, {r['lag_seconds']:.1f} s, {r['lag_bytes']:,} bytes"
        state = r["state"] + (f" (next try {r['retry_at']})" if r["retry_at"] else "")
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(r["skipped"].items())) or "-"
        table.add_row(r["destination"], state, f"{r['delivered']:,}", f"{r['dead_letters']:,}", skipped, lag)
    stdout.print(table)
    for r in rows:
        if r["last_error"]:
            stdout.print(f"{r['destination']}: last error: {r['last_error']}", markup=False)
    for r in rows:
        if r["hint"]:
            stdout.print(f"{r['destination']}: {r['hint']}", markup=False)


@destination.command("test")
@click.argument("ref", metavar="[PROPERTY.]NAME")
@data_options
def test(ref: str, data: Path, config_file: Path | None) -> None:
    """Send one sample purchase and show the destination's answer (GA4: its validation
    endpoint, whose messages are printed; nothing is recorded there)."""
    cfg = _config(data, config_file)
    d = _sendable(_find(cfg, ref))
    sample = resend.sample(d.property, datetime.now(UTC))
    sender = Sender()
    try:
        report = resend.resend(d, [sample], sender, debug=True, attempts=1)
    finally:
        sender.close()
    for event, reason in report.refused:
        stdout.print(f"[red]refused[/red] {event}: {reason}")
    for outcome in report.sent:
        colour = "green" if outcome.delivered else "red"
        head, _, why = outcome.detail.partition(":")
        # without an answer, why there was none (a refused connection, a timeout); it said "(empty body)"
        said = outcome.body or (why.strip() if not outcome.delivered else "") or "(empty body)"
        stdout.print(f"[{colour}]{escape(head)}[/{colour}] {escape(said)}")
        if d.type == "ga4":
            _ga4_messages(outcome.body)
    if report.skipped:
        stdout.print(f"not sent: {counted(report.skipped)} (the destination's selection)", markup=False)
    if not report.sent or report.failed or report.refused:
        raise SystemExit(1)


def _ga4_messages(body: str) -> None:
    try:
        answer = json.loads(body)
    except ValueError:
        return
    messages = answer.get("validationMessages") if isinstance(answer, dict) else None
    if not isinstance(messages, list):  # {"ok": true} from a proxy was "the event is valid"
        stdout.print(
            "GA4 validation: the answer has no validationMessages, so nothing validated the event; "
            "is base_url GA4's (or a receiver with its /debug/mp/collect)?",
            markup=False,
        )
        return
    if not messages:
        stdout.print("GA4 validation: no messages (the event is valid)")
    for m in messages:
        if not isinstance(m, dict):
            continue
        stdout.print(
            f"GA4 validation: {m.get('validationCode')} at {m.get('fieldPath')}: {m.get('description')}"
        )


@destination.command("replay")
@click.argument("ref", metavar="[PROPERTY.]NAME")
@click.option("--since", required=True, help="Events received from this time (ISO 8601, or 2h, 3d, ...).")
@click.option("--until", default=None, help="... up to this time [default: now].")
@data_options
def replay(ref: str, since: str, until: str | None, data: Path, config_file: Path | None) -> None:
    """Send the stored events of a time window again (the receiver deduplicates those it has
    where the type has an idempotency key: Commanders Act, Segment, webhook)."""
    cfg = _config(data, config_file)
    d = _sendable(_find(cfg, ref))
    start, end = _window(since, until)
    query = Query(property=d.property, since=start, until=end, limit=1 << 62)
    totals = resend.Report()
    sender = Sender()
    try:
        with store_access(data, config_file) as (client, store, _):
            for rows, _total in _pages(client, store, "events", query):
                events = [_event(r) for r in rows if r.get("property") == d.property]
                if events:
                    part = resend.resend(d, events, sender, sleep=time.sleep)
                    totals.sent += part.sent
                    totals.refused += part.refused
                    for k, v in part.skipped.items():
                        totals.skipped[k] = totals.skipped.get(k, 0) + v
    finally:
        sender.close()
    _report(totals)


def _event(row: dict[str, Any]) -> Event:
    return from_json(msgspec.json.encode(row))


def _report(report: resend.Report) -> None:
    stdout.print(
        f"delivered {len(report.delivered)} events in {sum(o.delivered for o in report.sent)} requests; "
        f"{len(report.failed)} requests failed, {len(report.refused)} events refused; "
        f"skipped {counted(report.skipped)}"
    )
    for outcome in report.failed[:20]:
        stdout.print(f"[red]failed[/red] {len(outcome.events)} events: {outcome.detail}")
    for event, reason in report.refused[:20]:
        stdout.print(f"[red]refused[/red] {event}: {reason}")
    if report.failed or report.refused:
        raise SystemExit(1)


@destination.command("dead-letters")
@click.argument("ref", metavar="[PROPERTY.]NAME")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@data_options
def dead_letters(ref: str, fmt: str, data: Path, config_file: Path | None) -> None:
    """The events a destination did not take, with why and its answer (`retry` sends them again)."""
    d = _find(_config(data, config_file), ref)
    pending = deadletters.DeadLetters(runner.Files(data, d.id).dead).pending()
    if fmt == "json":
        print_json([deadletters.summary(p) for p in pending])
        return
    if not pending:
        stdout.print(f"{d.id}: no dead letters")
        return
    table = Table(show_lines=True)
    for column in ("n", "at", "events", "reason", "answer"):
        table.add_column(column)
    for p in pending:
        answer = f"{p.status} {p.response}".strip() if p.status is not None else "-"
        events = ", ".join(p.events[:3]) + (f" (+{len(p.events) - 3})" if len(p.events) > 3 else "")
        table.add_row(str(p.n), p.at.isoformat(timespec="seconds"), *map(escape, (events, p.reason, answer)))
    stdout.print(table)


@destination.command("retry")
@click.argument("ref", metavar="[PROPERTY.]NAME")
@click.argument("numbers", nargs=-1, type=int)
@click.option("--all", "all_", is_flag=True, help="Every dead letter of the destination.")
@data_options
def retry_(ref: str, numbers: tuple[int, ...], all_: bool, data: Path, config_file: Path | None) -> None:
    """Send dead letters N... (or --all) again; those delivered leave the list."""
    d = _sendable(_find(_config(data, config_file), ref))
    if not numbers and not all_:
        raise click.UsageError("name the dead letters to retry (their n in `dead-letters`), or --all")
    if numbers and all_:
        raise click.UsageError(
            f"expected dead letter numbers or --all, got both ({numbers[0]} ... and --all)"
        )
    try:
        report = overview.retry(data, d, None if all_ else list(numbers))
    except overview.UnknownLetters as exc:
        raise click.ClickException(str(exc)) from None
    if not report.letters:
        stdout.print(f"{d.id}: no dead letters to retry")
    for o in report.letters:
        if o.outcome == "unreadable":
            stderr.print(f"dead letter {o.n}: {o.detail}")
        elif o.outcome == "delivered":
            stdout.print(f"[green]delivered[/green] dead letter {o.n} ({o.items} items)")
        else:
            stdout.print(f"[red]still failing[/red] dead letter {o.n}: {o.detail}")
    if report.failed:
        raise SystemExit(1)


def _config(data: Path, config_file: Path | None) -> Config:
    cfg = load_config(data, config_file)
    assert cfg is not None
    return cfg
