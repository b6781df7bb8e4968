"""``trackway forget`` and ``trackway subject-export``: one person's data, erased or given.

Forgetting keeps the events, anonymised, so counts do not change: each forgotten
person gets a random tombstone id (``forgotten-...``) that holds their events together
(a person stays one person in reports) and links to nothing. Then, for that person:

- ``events``: anonymous id -> the tombstone, user id, user traits and IP removed, and any
  other string holding an identifier (a search term, a ``mailto`` address) scrubbed;
- ``identities``: the person's ids replaced by the tombstone; ``identity_links`` and
  ``identity_conflicts`` rows naming their ids deleted;
- ``failed_events``: every occurrence of an identifier (ids, email, phone and their
  md5/sha256 hashes, as sent or normalised) in the payload, issues and metadata
  replaced by ``[forgotten]``.

Then, in every table of the database (``events`` of anyone, ``failed_events``, the
derived tables, the quarantine, whatever a later version adds), every text, JSON and
blob value holding one of the person's ids, emails or phones, in any of the forms
:func:`needles_for` lists (as sent, case-folded, normalised, percent-encoded, md5 and
sha256 hex), is rewritten with ``[forgotten]`` in its place (:func:`scrub_everywhere`).
``subject`` (store/subject.py) finds the same rows (identifiers.matching_rows); what
names a person, and the forms it is found in, are store/identifiers.py's.

Carts, orders and procedures hold person ids (random, derived from event ids), not
identifiers; they stay. The store rewrites its file afterwards (DuckStore.compact), so
no erased value stays in a free block; the log is scrubbed by store/logscrub.py.
"""

from __future__ import annotations

import secrets
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from trackway.model import Event
from trackway.store import rows
from trackway.store.columns import insert_sql
from trackway.store.identifiers import (
    TOMBSTONE,
    PersonIds,
    compile_needles,
    find_people,
    matching_rows,
    needles_for,
    person_events,
    person_ids,
    request_needles,
    scrub,
)
from trackway.store.state_tables import _fetch

_json = msgspec.json.Encoder(decimal_format="number")


def scrub_everywhere(
    cur: duckdb.DuckDBPyConnection, needles: set[str], prop: str | None = None
) -> dict[str, int]:
    """Replace every needle in every table (``prop``'s rows only, when given) with
    ``[forgotten]``; rows changed by table. A column that is a needle and nothing else (an
    id: an event's anonymous or user id, an identity) gets a tombstone of its own instead,
    one per value, so that the ids of different people never become one id (the people
    they named, merged). Each changed row is deleted and inserted again with the same
    values otherwise."""
    changed: dict[str, int] = {}
    pattern = compile_needles(needles)
    assert pattern is not None or not needles
    tombstones: dict[str, str] = {}
    for table, found in matching_rows(cur, needles, prop).items():
        rowids = [r.pop("__rowid") for r in found]
        schema = cur.sql(f'SELECT * FROM "{table}" LIMIT 0').to_arrow_table().schema
        cleaned = [_scrub_row(r, pattern, tombstones) for r in found]
        cur.execute(f'DELETE FROM "{table}" WHERE list_contains(?, rowid)', [rowids])
        # A key that held an identifier (identities.id) may now equal another row's: the
        # scrubbed row then goes (it named nobody else), the other stays.
        for key in _keys(cur, table):
            seen: set[tuple[Any, ...]] = set()
            unique = []
            for r in cleaned:
                k = tuple(r[c] for c in key)
                if k not in seen:
                    seen.add(k)
                    unique.append(r)
            cleaned = unique
        cur.register("scrubbed_rows", pa.Table.from_pylist(cleaned, schema=schema))
        try:
            absent = " AND ".join(
                'NOT EXISTS (SELECT 1 FROM "{t}" o WHERE {on})'.format(
                    t=table, on=" AND ".join(f'o."{c}" IS NOT DISTINCT FROM s."{c}"' for c in key)
                )
                for key in _keys(cur, table)
            )
            cur.execute(
                f'INSERT INTO "{table}" SELECT * FROM scrubbed_rows s'
                + (f" WHERE {absent}" if absent else "")
            )
        finally:
            cur.unregister("scrubbed_rows")
        changed[table] = len(found)
    return changed


def _scrub_row(row: dict[str, Any], pattern: Any, tombstones: dict[str, str]) -> dict[str, Any]:
    out = {}
    for column, value in row.items():
        if isinstance(value, str) and pattern.fullmatch(value.strip()):
            if value not in tombstones:
                tombstones[value] = f"{TOMBSTONE}{secrets.token_hex(8)}"
            out[column] = tombstones[value]
        else:
            out[column] = scrub(value, pattern)
    return out


def _keys(cur: duckdb.DuckDBPyConnection, table: str) -> list[list[str]]:
    """The columns of each primary key and unique constraint of ``table``."""
    found = cur.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        [table],
    ).fetchall()
    return [list(cols) for (cols,) in found]


def _anonymise(event: Event, tombstone: str, needles: set[str]) -> Event:
    event.anonymous_id, event.user_id, event.user = tombstone, None, None
    context = dict(event.context or {})
    context.pop("ip", None)
    event.context = scrub(context, needles) or None
    event.properties = scrub(event.properties, needles)
    event.extras = scrub(event.extras, needles)
    return event


def found_nothing(report: dict[str, Any]) -> bool:
    """Whether a :func:`forget` report (with the store's additions) found no trace of the person."""
    logged = report.get("log") or {}
    return not report.get("people") and not report.get("elsewhere") and not logged.get("records")


def nothing_found(user: str | None) -> str:
    """What a forget that found nothing says (the command line and the API alike)."""
    what = "user id" if user else "email"
    return (
        f"no stored person, row or loaded log record holds this {what}: nothing was erased. Expected "
        f"the {what} as it was sent (case counts, the spaces around it do not); "
        "`trackway subject-export` shows what is stored"
    )


def forget(
    cur: duckdb.DuckDBPyConnection,
    user: str | None,
    email: str | None,
    prop: str | None,
    log_needles: set[str] | None = None,
) -> dict[str, Any]:
    """Erase one person's identifiers everywhere (inside the caller's transaction).
    ``log_needles``, when given, receives what to scrub from the log's raw requests:
    the identifiers scrubbed everywhere and the person's anonymous ids."""
    report: dict[str, Any] = {
        "people": 0,
        "events": 0,
        "identities": 0,
        "links": 0,
        "conflicts": 0,
        "failed_events": 0,
    }
    given = {v for v in (user, email) if v}
    people: list[PersonIds] = []
    for p, person in find_people(cur, user, email, prop):
        found = person_events(cur, p, person)
        events = [rows.row_to_event(r) for r in found]
        named = person_ids(cur, p, person, events)  # before any of it is rewritten
        people.append(named)
        needles = needles_for(named.strong | given)
        every = needles | needles_for(named.traits) | named.ips
        tombstone = f"{TOMBSTONE}{secrets.token_hex(8)}"
        ids = list(named.table)
        report["people"] += 1
        if found:
            seqs = [r["seq"] for r in found]
            cleaned = [
                rows.event_to_row(_anonymise(e, tombstone, every), r["endpoint"], r["seq"])
                for e, r in zip(events, found, strict=True)
            ]
            cur.execute("DELETE FROM events WHERE list_contains(?, seq)", [seqs])
            batch = rows.to_arrow(cleaned).append_column(  # the person stays one person: same key
                "person_key", pa.array([r["person_key"] for r in found], pa.int64())
            )
            cur.register("forgotten_rows", batch)
            try:
                cur.execute(insert_sql("forgotten_rows"))
            finally:
                cur.unregister("forgotten_rows")
            report["events"] += len(found)
        first = min((e.timestamp for e in events if e.timestamp), default=None)
        last = max((e.timestamp for e in events if e.timestamp), default=None)
        report["identities"] += len(ids)
        cur.execute("DELETE FROM identities WHERE property = ? AND person_id = ?", [p, person])
        if first is not None:
            cur.execute(
                "INSERT INTO identities VALUES (?, 'anonymous', ?, ?, ?, ?)",
                [p, tombstone, person, first, last],
            )
        for table, columns in (
            ("identity_links", ("anonymous_id", "user_id")),
            ("identity_conflicts", ("anonymous_id", "user_id", "other_user_id")),
        ):
            cond = " OR ".join(f"list_contains(?, {c})" for c in columns)
            [(n,)] = cur.execute(
                f"SELECT count(*) FROM {table} WHERE property = ? AND ({cond})", [p, *[ids] * len(columns)]
            ).fetchall()
            cur.execute(f"DELETE FROM {table} WHERE property = ? AND ({cond})", [p, *[ids] * len(columns)])
            report["links" if table == "identity_links" else "conflicts"] += int(n)
        report["failed_events"] += _scrub_failed(cur, p, needles, every)
    # What is left anywhere (anyone's events, the derived tables, the quarantine): the ids,
    # emails and phones, in every form; IPs are the person's only in their own rows.
    in_tables, in_files = request_needles(people, user, email)
    report["elsewhere"] = scrub_everywhere(cur, in_tables, prop)
    if log_needles is not None:
        log_needles |= in_files
    return report


def _scrub_failed(cur: duckdb.DuckDBPyConnection, prop: str, marks: set[str], needles: set[str]) -> int:
    """Scrub ``needles`` out of the failed payloads that hold one of ``marks`` (the person's)."""
    changed = 0
    for row in _fetch(cur, "SELECT id, payload, issues, meta FROM failed_events WHERE property = ?", [prop]):
        payload = bytes(row["payload"])
        text = payload.decode("utf-8", errors="surrogateescape")
        if not any(m in text or m in (row["meta"] or "") for m in marks):
            continue
        new_text = scrub(text, needles)
        issues = msgspec.json.decode(row["issues"]) if row["issues"] else []
        meta = msgspec.json.decode(row["meta"]) if row["meta"] else {}
        new_issues, new_meta = scrub(issues, needles), scrub(meta, needles)
        if new_text == text and new_issues == issues and new_meta == meta:
            continue
        cur.execute(
            "UPDATE failed_events SET payload = ?, issues = ?, meta = ? WHERE id = ?",
            [
                new_text.encode("utf-8", errors="surrogateescape"),
                _json.encode(new_issues).decode(),
                _json.encode(new_meta).decode() if new_meta else None,
                row["id"],
            ],
        )
        changed += 1
    return changed
