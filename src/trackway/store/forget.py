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

Carts, orders and procedures hold person ids (random, derived from event ids), not
identifiers; they stay. The log files are deleted once loaded (unless ``keep_log``):
a record received in the last moments may still hold the identifiers until then.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from trackway.model import Event, to_builtins
from trackway.store import rows
from trackway.store.columns import insert_sql
from trackway.store.state_tables import _fetch, identity

FORGOTTEN = "[forgotten]"
_json = msgspec.json.Encoder(decimal_format="number")


def _hashes(value: str) -> set[str]:
    return {hashlib.md5(value.encode()).hexdigest(), hashlib.sha256(value.encode()).hexdigest()}


def needles_for(values: set[str]) -> set[str]:
    """Every form an identifier may be found in: as given, trimmed and lower-cased, and
    the md5 and sha256 of those."""
    out: set[str] = set()
    for v in values:
        if not v:
            continue
        for form in {v, v.strip(), v.strip().lower()}:
            if len(form) >= 3:  # never scrub 1-2 character strings out of everything
                out.add(form)
                out |= _hashes(form)
    return out


def scrub(value: Any, needles: set[str]) -> Any:
    """``value`` with every needle inside a string replaced by ``[forgotten]``."""
    if isinstance(value, str):
        for n in needles:
            if n in value:
                value = value.replace(n, FORGOTTEN)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, needles) for v in value]
    return value


def find_people(
    cur: duckdb.DuckDBPyConnection, user: str | None, email: str | None, prop: str | None
) -> list[tuple[str, str]]:
    """(property, person_id) of everyone the user id or email names."""
    where_p = " AND property = ?" if prop else ""
    extra = [prop] if prop else []
    found: set[tuple[str, str]] = set()
    if user:
        for r in _fetch(
            cur,
            f"SELECT property, person_id FROM identities WHERE kind = 'user' AND id = ?{where_p}",
            [user, *extra],
        ):
            found.add((r["property"], r["person_id"]))
    if email:
        e = email.strip().lower()
        md5, sha = hashlib.md5(e.encode()).hexdigest(), hashlib.sha256(e.encode()).hexdigest()
        query = (
            "SELECT DISTINCT property, person_id FROM event_persons WHERE person_id IS NOT NULL AND ("
            "lower(trim(user->>'email')) = ? OR user->>'email_md5' = ? OR user->>'email_sha256' = ?)"
            + where_p
        )
        for r in _fetch(cur, query, [e, md5, sha, *extra]):
            found.add((r["property"], r["person_id"]))
    return sorted(found)


def _person_events(cur: duckdb.DuckDBPyConnection, prop: str, person: str) -> list[dict[str, Any]]:
    return _fetch(
        cur,
        f"SELECT {rows.QUOTED_COLUMNS}, person_key FROM event_persons "
        "WHERE property = ? AND person_id = ? ORDER BY seq",
        [prop, person],
    )


def _identifiers(
    cur: duckdb.DuckDBPyConnection, prop: str, person: str, events: list[Event]
) -> tuple[set[str], set[str]]:
    """The person's identifiers (ids, emails, phones, hashes, IPs), which mark a failed
    payload as theirs, and their other trait values (names, city, ...), scrubbed too but
    only where an identifier shows the payload is theirs."""
    ids = {
        r["id"]
        for r in _fetch(cur, "SELECT id FROM identities WHERE property = ? AND person_id = ?", [prop, person])
    }
    traits: set[str] = set()
    for e in events:
        ids |= {v for v in (e.anonymous_id, e.user_id) if v}
        for key, v in (e.user or {}).items():
            if not isinstance(v, str):
                continue
            if key.startswith(("email", "phone")) or key.endswith(("_md5", "_sha256")):
                ids.add(v)
            else:
                traits.add(v)
        ip = (e.context or {}).get("ip")
        if isinstance(ip, str):
            ids.add(ip)
    return ids, traits


def _anonymise(event: Event, tombstone: str, needles: set[str]) -> Event:
    event.anonymous_id, event.user_id, event.user = tombstone, None, None
    context = dict(event.context or {})
    context.pop("ip", None)
    event.context = scrub(context, needles) or None
    event.properties = scrub(event.properties, needles)
    event.extras = scrub(event.extras, needles)
    return event


def forget(
    cur: duckdb.DuckDBPyConnection, user: str | None, email: str | None, prop: str | None
) -> dict[str, Any]:
    """Erase one person's identifiers everywhere (inside the caller's transaction)."""
    report: dict[str, Any] = {
        "people": 0,
        "events": 0,
        "identities": 0,
        "links": 0,
        "conflicts": 0,
        "failed_events": 0,
    }
    given = {v for v in (user, email) if v}
    for p, person in find_people(cur, user, email, prop):
        found = _person_events(cur, p, person)
        events = [rows.row_to_event(r) for r in found]
        strong, traits = _identifiers(cur, p, person, events)
        needles = needles_for(strong | given)
        every = needles | needles_for(traits)
        tombstone = f"forgotten-{secrets.token_hex(8)}"
        ids = sorted(
            {
                r["id"]
                for r in _fetch(
                    cur, "SELECT id FROM identities WHERE property = ? AND person_id = ?", [p, person]
                )
            }
        )
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


def subject(
    cur: duckdb.DuckDBPyConnection, user: str | None, email: str | None, prop: str | None
) -> dict[str, Any]:
    """Everything stored about one person, as JSON-able values."""
    people = []
    for p, person in find_people(cur, user, email, prop):
        found = _person_events(cur, p, person)
        events = [rows.row_to_event(r) for r in found]
        ids = {
            r["id"]
            for r in _fetch(
                cur, "SELECT id FROM identities WHERE property = ? AND person_id = ?", [p, person]
            )
        }
        needles = needles_for(ids | {v for v in (user, email) if v})
        failed = [
            {**r, "payload": bytes(r["payload"]).decode("utf-8", errors="replace")}
            for r in _fetch(
                cur,
                "SELECT id, endpoint, dialect, received_at, payload, issues FROM failed_events "
                "WHERE property = ?",
                [p],
            )
            if any(n.encode() in bytes(r["payload"]) for n in needles)
        ]
        key = [p, person]
        people.append(
            {
                "property": p,
                "person_id": person,
                "identity": next((x for x in identity(cur, sorted(ids)[0], p)), None) if ids else None,
                "events": [to_builtins(e) for e in events],
                "carts": _fetch(
                    cur, "SELECT * FROM carts WHERE property = ? AND person_id = ? ORDER BY opened_at", key
                ),
                "orders": _fetch(
                    cur, "SELECT * FROM orders WHERE property = ? AND person_id = ? ORDER BY created_at", key
                ),
                "procedures": _fetch(
                    cur,
                    "SELECT * FROM procedures WHERE property = ? AND person_id = ? ORDER BY first_at",
                    key,
                ),
                "failed_events": failed,
            }
        )
    return {"people": people}
