"""One person as the dashboard's People page shows them: their ids and links (the
identity graph), their consent as last stated, carts, orders and latest events."""

from __future__ import annotations

from typing import Any

import duckdb

from trackway.model import to_builtins
from trackway.store import rows
from trackway.store.state_tables import _fetch, person_graph, person_keys

TIMELINE = 200  # the latest events shown


def events_of(cur: duckdb.DuckDBPyConnection, prop: str, person_id: str, limit: int) -> list[dict[str, Any]]:
    """The person's latest events, newest first. By their integer person keys: a key is
    the seq of the person's first event, so the zone maps on seq skip every row group
    written before it (the ``event_persons`` view joins every event on strings: seconds
    at 10 million events)."""
    found = person_keys(cur, prop, person_id)
    if not found:
        return _fetch(
            cur,
            f"SELECT {rows.QUOTED_COLUMNS} FROM event_persons WHERE property = ? AND person_id = ? "
            f"ORDER BY seq DESC LIMIT {int(limit)}",
            [prop, person_id],
        )
    marks = ", ".join("?" * len(found))
    return _fetch(
        cur,
        f"SELECT {rows.QUOTED_COLUMNS} FROM events WHERE seq >= ? AND person_key IN ({marks}) "
        f"ORDER BY seq DESC LIMIT {int(limit)}",
        [min(found), *found],
    )


def person(cur: duckdb.DuckDBPyConnection, prop: str, person_id: str) -> dict[str, Any] | None:
    """The person ``person_id`` of ``prop``, or None when no id belongs to them."""
    key = [prop, person_id]
    graph = person_graph(cur, prop, person_id)
    if graph is None:
        return None
    events = [to_builtins(rows.row_to_event(r)) for r in events_of(cur, prop, person_id, TIMELINE)]
    return {
        "property": prop,
        "person_id": person_id,
        "identity": graph,
        "consent": next((e["consent"] for e in events if e.get("consent")), None),
        "events": events,
        "carts": _fetch(
            cur, "SELECT * FROM carts WHERE property = ? AND person_id = ? ORDER BY opened_at DESC", key
        ),
        "orders": _fetch(
            cur, "SELECT * FROM orders WHERE property = ? AND person_id = ? ORDER BY created_at DESC", key
        ),
    }


def people(
    cur: duckdb.DuckDBPyConnection, value: str, prop: str | None, most: int = 10
) -> list[dict[str, Any]]:
    """Every person (at most ``most``) an id names (anonymous, user, a vendor's device id
    the identity graph links), each as :func:`person` shows them."""
    where, params = ("id = ? AND property = ?", [value, prop]) if prop else ("id = ?", [value])
    found = _fetch(
        cur,
        f"SELECT DISTINCT property, person_id FROM identities WHERE {where} ORDER BY ALL LIMIT {most}",
        params,
    )
    out = [person(cur, r["property"], r["person_id"]) for r in found]
    return [p for p in out if p is not None]
