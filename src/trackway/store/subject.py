"""``trackway subject-export``: everything stored about one person, the rows ``trackway
forget`` (store/forget.py) rewrites, found by the same identifiers (store/identifiers.py)."""

from __future__ import annotations

from typing import Any

import duckdb

from trackway.model import to_builtins
from trackway.store import rows
from trackway.store.identifiers import (
    PersonIds,
    compile_needles,
    find_people,
    matching_rows,
    needles_for,
    person_events,
    person_ids,
    request_needles,
)
from trackway.store.state_tables import _fetch, identity


def subject(
    cur: duckdb.DuckDBPyConnection,
    user: str | None,
    email: str | None,
    prop: str | None,
    file_needles: set[str] | None = None,
) -> dict[str, Any]:
    """Everything stored about one person, as JSON-able values: for each person the ids
    name, their events, carts, orders, procedures and the failed payloads naming them;
    and ``elsewhere``, every row of any table holding one of their ids, emails or phones
    (the rows ``forget`` rewrites beyond the person's own). ``file_needles``, when given,
    receives what ``forget`` would scrub from the files beside the store (its log_needles)."""
    people = []
    given = {v for v in (user, email) if v}
    named: list[PersonIds] = []
    for p, person in find_people(cur, user, email, prop):
        events = [rows.row_to_event(r) for r in person_events(cur, p, person)]
        ids = person_ids(cur, p, person, events)
        named.append(ids)
        pattern = compile_needles(needles_for(ids.strong | given))
        failed = [
            {**r, "payload": bytes(r["payload"]).decode("utf-8", errors="replace")}
            for r in _fetch(
                cur,
                "SELECT id, endpoint, dialect, received_at, payload, issues, meta FROM failed_events "
                "WHERE property = ?",
                [p],
            )
            if pattern is not None
            and (
                pattern.search(bytes(r["payload"]).decode("utf-8", errors="surrogateescape"))
                or pattern.search(r["meta"] or "")
            )
        ]
        for r in failed:
            r.pop("meta")
        key = [p, person]
        people.append(
            {
                "property": p,
                "person_id": person,
                "identity": next(iter(identity(cur, ids.table[0], p)), None) if ids.table else None,
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
    in_tables, in_files = request_needles(named, user, email)  # as forget's
    elsewhere = {
        table: [{k: _readable(v) for k, v in r.items() if k != "__rowid"} for r in found]
        for table, found in matching_rows(cur, in_tables, prop).items()
    }
    if file_needles is not None:
        file_needles |= in_files
    return {"people": people, "elsewhere": elsewhere}


def _readable(value: Any) -> Any:
    return bytes(value).decode("utf-8", errors="replace") if isinstance(value, bytes | bytearray) else value
