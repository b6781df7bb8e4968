"""``trackway identity show`` and ``trackway rebuild``: the derived state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from trackway.cli.common import property_name, store_access, store_options
from trackway.cli.output import open_output, stderr, stdout
from trackway.destinations.runner import retention
from trackway.store import forget as forget_


@click.group()
def identity() -> None:
    """People: the ids stitched together, links and conflicts."""


@identity.command("show")
@click.argument("value", metavar="ID")
@click.option("--property", "prop", callback=property_name, help="Only this property.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@store_options
def identity_show(value: str, prop: str | None, fmt: str, data: Path, config_file: Path | None) -> None:
    """Show the person an anonymous or user ID belongs to: ids, links, conflicts, event counts."""
    if not value.strip():  # it answered with the API's words, "expected ?id= ..."
        raise click.BadParameter("expected an anonymous or user id, got an empty one", param_hint="ID")
    with store_access(data, config_file) as (client, store, _):
        if client is not None:
            people = client.call(
                "GET", "/api/identity", params={"id": value, **({"property": prop} if prop else {})}
            )["people"]
        else:
            assert store is not None
            people = store.identity(value, prop)
    if fmt == "json":
        click.echo(json.dumps(people, default=str, indent=2))
        return
    if not people:
        raise click.ClickException(f"no person has the id {value!r}" + (f" in {prop}" if prop else ""))
    for person in people:
        _show(person)


def _show(person: dict[str, Any]) -> None:
    stdout.rule(f"[bold]{escape(person['person_id'])}[/] in {escape(person['property'])}")
    ids = Table("kind", "id", "first seen", "last seen", title="ids")
    for r in person["ids"]:
        ids.add_row(r["kind"], escape(r["id"]), str(r["first_seen"]), str(r["last_seen"]))
    stdout.print(ids)
    if person["links"]:
        links = Table("anonymous id", "user id", "event", "at", title="links (the guest became the user)")
        for r in person["links"]:
            links.add_row(*map(escape, (r["anonymous_id"], r["user_id"], r["event_id"])), str(r["at"]))
        stdout.print(links)
    if person["conflicts"]:
        conflicts = Table(
            "anonymous id", "linked to", "also seen with", "event", "at", title="conflicts (not merged)"
        )
        for r in person["conflicts"]:
            conflicts.add_row(
                *map(escape, (r["anonymous_id"], r["user_id"], r["other_user_id"], r["event_id"])),
                str(r["at"]),
            )
        stdout.print(conflicts)
    counts = Table("event", "count", title=f"{sum(person['events'].values())} events")
    for name, n in person["events"].items():
        counts.add_row(escape(name), str(n))
    stdout.print(counts)


@click.command()
@store_options
def rebuild(data: Path, config_file: Path | None) -> None:
    """Recompute identities, carts, orders and procedures from the stored events."""
    with store_access(data, config_file) as (client, store, _):
        if client is not None:
            stderr.print("The server is running: rebuilding through it (loading waits meanwhile).")
            events = client.call("POST", "/api/rebuild")["events"]
        else:
            assert store is not None
            from rich.progress import Progress

            with Progress(console=stderr.console) as bar:
                task = bar.add_task("rebuilding", total=None)
                events = store.rebuild(lambda n, total: bar.update(task, completed=n, total=total))
    stdout.print(f"rebuilt identities, carts, orders and procedures from {events} events")


def _who(user: str | None, email: str | None, prop: str | None) -> dict[str, str]:
    """The person asked for, as the admin API takes it; exactly one of user and email."""
    if bool(user) == bool(email):
        raise click.UsageError("give exactly one of --user ID or --email EMAIL")
    return {k: v for k, v in (("user", user), ("email", email), ("property", prop)) if v}


@click.command()
@click.option("--user", help="The user id of the person.")
@click.option("--email", help="The email of the person (plain; matched also by its hashes).")
@click.option("--property", "prop", callback=property_name, help="Only in this property.")
@store_options
def forget(
    user: str | None, email: str | None, prop: str | None, data: Path, config_file: Path | None
) -> None:
    """Erase a person's identifiers and traits, and their hashes, from every table.

    Their events stay, anonymised under a random id, so counts do not change.
    """
    body = _who(user, email, prop)
    with store_access(data, config_file) as (client, store, cfg):
        if client is not None:
            report = client.call("POST", "/api/forget", json=body)
        else:
            assert store is not None
            # what a destination has not read is kept
            report = store.forget(user, email, prop, retention(data, lambda: cfg))
    elsewhere = report.get("elsewhere") or {}
    logged = report.get("log") or {}
    if forget_.found_nothing(report):
        raise click.ClickException(forget_.nothing_found(user))
    stdout.print(
        f"forgot {report['people']} person(s): {report['events']} events anonymised, "
        f"{report['identities']} ids, {report['links']} links and {report['conflicts']} conflicts removed, "
        f"{report['failed_events']} failed payloads scrubbed"
    )
    if elsewhere:
        stdout.print(
            "scrubbed elsewhere: " + ", ".join(f"{n} rows of {t}" for t, n in sorted(elsewhere.items()))
        )
    if report.get("compacted"):
        stdout.print("rewrote the database file: no erased value is left in it")
    if logged:
        stdout.print(f"log: {logged['records']} records scrubbed in {logged['segments']} loaded segments")
        if logged["waiting"]:
            stdout.print(
                f"log: {len(logged['waiting'])} segments are still being written, loaded or read by a "
                "destination; the workers were asked to start new ones. Without keep_log they are deleted "
                "once every consumer has read them; with keep_log, run this forget again then to scrub them."
            )


@click.command("subject-export")
@click.option("--user", help="The user id of the person.")
@click.option("--email", help="The email of the person.")
@click.option("--property", "prop", callback=property_name, help="Only in this property.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@store_options
def subject_export(
    user: str | None,
    email: str | None,
    prop: str | None,
    output: Path | None,
    data: Path,
    config_file: Path | None,
) -> None:
    """Write everything stored about one person as JSON (ids, events, carts, orders, ...)."""
    params = _who(user, email, prop)
    with store_access(data, config_file) as (client, store, _):
        if client is not None:
            found = client.call("GET", "/api/subject", params=params)
        else:
            assert store is not None
            found = store.subject(user, email, prop)
    text = json.dumps(found, default=str, indent=2)
    if output is None:
        click.echo(text)
    else:
        with open_output(output) as f:
            f.write(text + "\n")  # personal data: 0600
        stderr.print(f"wrote {len(found['people'])} person(s) to {output}")
