"""``trackway subject-export``: everything stored about one person, the rows ``trackway
forget`` (store/forget.py) rewrites, found by the same identifiers (store/identifiers.py)."""

from __future__ import annotations

from typing import Any

import duckdb

from trackway.model import to_builtins
from trackway.store import rows
from trackway.store.identifiers import (
    compile_needles,
    find_people,
    global_ids,
    identifiers_of,
    matching_rows,
    needles_for,
    person_events,
    user_ids,
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
    everywhere: set[str] = set()
    users = {user} if user else set()
    anonymous: set[str] = set()
    for p, person in find_people(cur, user, email, prop):
        found = person_events(cur, p, person)
        events = [rows.row_to_event(r) for r in found]
        strong, _, _ = identifiers_of(cur, p, person, events)
        everywhere |= strong
        users |= user_ids(cur, p, person, events)
        anonymous |= {e.anonymous_id for e in events if e.anonymous_id}
        ids = {
            r["id"]
            for r in _fetch(
                cur, "SELECT id FROM identities WHERE property = ? AND person_id = ?", [p, person]
            )
        }
        pattern = compile_needles(needles_for(strong | given))
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
    global_needles = needles_for(global_ids(everywhere | given, users))
    elsewhere = {
        table: [{k: _readable(v) for k, v in r.items() if k != "__rowid"} for r in found]
        for table, found in matching_rows(cur, global_needles).items()
    }
    if file_needles is not None:
        file_needles |= global_needles | needles_for(anonymous)
    return {"people": people, "elsewhere": elsewhere}


def _readable(value: Any) -> Any:
    return bytes(value).decode("utf-8", errors="replace") if isinstance(value, bytes | bytearray) else value
