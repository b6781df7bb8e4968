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
``subject`` finds the same rows (:func:`matching_rows`).

Carts, orders and procedures hold person ids (random, derived from event ids), not
identifiers; they stay. The store rewrites its file afterwards (DuckStore.compact), so
no erased value stays in a free block; the log is scrubbed by store/logscrub.py.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import duckdb
import msgspec
import pyarrow as pa

from trackway.model import Event, to_builtins
from trackway.privacy.elsewhere import google_email, identifier_hash
from trackway.privacy.pii import md5_hex, normalize_email, normalize_phone, sha256_hex
from trackway.store import rows
from trackway.store.columns import insert_sql
from trackway.store.state_tables import _fetch, identity

FORGOTTEN = "[forgotten]"
_json = msgspec.json.Encoder(decimal_format="number")


def _hashes(value: str) -> set[str]:
    return {md5_hex(value), sha256_hex(value)}


def forms(value: str) -> set[str]:
    """The forms one identifier is stored in: as given, trimmed, lower-cased, normalised
    as a vendor hashes it (email trimmed and lower-cased, and as Google hashes it, a gmail
    address without its local part's dots; phone in E.164, also without its ``+``),
    percent-encoded (``quote`` and ``quote_plus``: a ``page_location``), and
    the md5 and sha256 hex of the plain forms. Matching is case-insensitive."""
    plain = {value, value.strip(), value.strip().lower()}
    email, phone = normalize_email(value), normalize_phone(value)
    plain |= {v for v in (email, phone, google_email(value)) if v}
    if phone:
        plain.add(phone[1:])
    out = {f for f in plain if len(f) >= 3}  # never scrub 1-2 character strings out of everything
    for f in list(out):
        out |= {quote(f, safe=""), quote(f), quote_plus(f)}
        out |= _hashes(f)
    return {f for f in out if len(f) >= 3}


def needles_for(values: set[str]) -> set[str]:
    """Every form each identifier may be found in (:func:`forms`)."""
    out: set[str] = set()
    for v in values:
        if v:
            out |= forms(v)
    return out


def compile_needles(needles: set[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any needle as a whole value (None: none)."""
    if not needles:
        return None
    alternatives = sorted(needles, key=len, reverse=True)  # the longest form first
    # Whole values only: the id "a12" is not in "a123", "jane@example.com" is not in
    # "mary.jane@example.com"; a value may end a sentence ("... jane@example.com.").
    body = "|".join(re.escape(n) for n in alternatives)
    return re.compile(rf"(?<![\w.+-])(?:{body})(?![\w-]|\.[\w-])", re.IGNORECASE)


def scrub(value: Any, needles: set[str] | re.Pattern[str] | None) -> Any:
    """``value`` with every needle inside a string (any case) replaced by ``[forgotten]``;
    bytes are read as UTF-8 (other bytes kept as they are)."""
    pattern = needles if isinstance(needles, re.Pattern) or needles is None else compile_needles(needles)
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(FORGOTTEN, value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="surrogateescape")
        return pattern.sub(FORGOTTEN, text).encode("utf-8", errors="surrogateescape")
    if isinstance(value, dict):
        return {k: scrub(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, pattern) for v in value]
    return value


def tables(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Every base table of the database."""
    found = cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT temporary ORDER BY table_name"
    ).fetchall()
    return [name for (name,) in found]


def _match_sql(needles: set[str], text: str = "CAST(t AS VARCHAR)") -> tuple[str, list[str]]:
    """A condition true for a row (aliased ``t``) whose ``text`` holds a needle, any
    case: one RE2 alternation over the row as text, a scan of 1M events in ~3 s where
    a ``contains`` per needle took ~30 s. Rows it finds are confirmed in Python."""
    if not needles:
        return "false", []
    alternation = "|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True))
    return f"regexp_matches({text}, ?)", ["(?i)" + alternation]


def matching_rows(cur: duckdb.DuckDBPyConnection, needles: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table holding one of ``needles`` in any column (text, JSON,
    blob, nested), by table, each with its ``rowid``."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not needles:
        return out
    cond, params = _match_sql(needles)
    pattern = compile_needles(needles)
    assert pattern is not None
    for table in tables(cur):
        found = _fetch(cur, f'SELECT rowid AS "__rowid", * FROM "{table}" t WHERE {cond}', params)
        # CAST(row AS VARCHAR) shows a blob's other bytes as \xNN: confirm on the values
        found = [r for r in found if scrub(r, pattern) != r]
        if found:
            out[table] = found
    return out


def scrub_everywhere(cur: duckdb.DuckDBPyConnection, needles: set[str]) -> dict[str, int]:
    """Replace every needle in every table with ``[forgotten]``; rows changed by table.
    Each changed row is deleted and inserted again with the same values otherwise."""
    changed: dict[str, int] = {}
    pattern = compile_needles(needles)
    for table, found in matching_rows(cur, needles).items():
        rowids = [r.pop("__rowid") for r in found]
        schema = cur.sql(f'SELECT * FROM "{table}" LIMIT 0').to_arrow_table().schema
        cleaned = [scrub(r, pattern) for r in found]
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


def _keys(cur: duckdb.DuckDBPyConnection, table: str) -> list[list[str]]:
    """The columns of each primary key and unique constraint of ``table``."""
    found = cur.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        [table],
    ).fetchall()
    return [list(cols) for (cols,) in found]


def find_people(
    cur: duckdb.DuckDBPyConnection, user: str | None, email: str | None, prop: str | None
) -> list[tuple[str, str]]:
    """(property, person_id) of everyone the user id or email names."""
    where_p = " AND property = ?" if prop else ""
    extra = [prop] if prop else []
    found: set[tuple[str, str]] = set()
    # A user id that is an email or a phone is stored as its hash under identifiers = "hash"
    # (trackway.privacy.elsewhere): the user id as given or hashed, the email's hashed forms.
    ids = [user, identifier_hash(user)] if user else []
    if email:
        ids += [f for f in forms(email) if _HEX.fullmatch(f)]
    if ids:
        for r in _fetch(
            cur,
            "SELECT property, person_id FROM identities WHERE kind = 'user' AND list_contains(?, id)"
            + where_p,
            [[i for i in ids if i], *extra],
        ):
            found.add((r["property"], r["person_id"]))
    if email:
        # The person whose events carry the email (any form) in their traits, context
        # (GA4 MP user_data), extras or a dataLayer user_data, not only in user.email;
        # an email elsewhere (a page_location) is scrubbed but names nobody.
        cond, params = _match_sql(
            forms(email), "concat_ws(' ', t.user, t.context, t.extras, t.properties->'user_data')"
        )
        query = (
            "SELECT DISTINCT property, person_id FROM event_persons WHERE person_id IS NOT NULL AND seq IN "
            f"(SELECT seq FROM events t WHERE {cond})" + where_p
        )
        for r in _fetch(cur, query, [*params, *extra]):
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
) -> tuple[set[str], set[str], set[str]]:
    """The person's identifiers (ids, emails, phones, hashes), which mark a failed payload
    as theirs; their other trait values (names, city, ...); and the IP addresses of their
    events. The last two are scrubbed too, but only where an identifier shows the payload
    is theirs: an IP marked the payloads of everyone behind the same address (a proxy, an
    office, every demo request) as the person's, exported them and erased their IPs."""
    ids = {
        r["id"]
        for r in _fetch(cur, "SELECT id FROM identities WHERE property = ? AND person_id = ?", [prop, person])
    }
    traits: set[str] = set()
    ips: set[str] = set()
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
        if isinstance(ip, str) and ip:
            ips.add(ip)
        items = (e.commerce.items if e.commerce else None) or []
        for value in (e.context, e.properties, e.extras, [getattr(i, "extras", None) for i in items]):
            _harvest(value, ids, traits, False)
    ids -= ips  # an IP found as a value (context.ip) marks nothing either
    return ids, traits, ips


# An address inside a text: no "/", "?", "=", "&" or "#" in the local part, which end
# a URL's parts (email=jane@example.com), and "%40" for a percent-encoded "@".
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9.!$%'*+^_`{|}~-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PERSONAL = ("user_data", "address", "user", "customer", "billing", "shipping_address", "contact")


def _harvest(value: Any, ids: set[str], traits: set[str], personal: bool) -> None:
    """Identifiers anywhere in an event's objects: a key naming an email or a phone (or
    their hashes) anywhere, an email address inside any text (a ``page_location``), and
    the other values of a personal object (``user_data``, ``address``: names, street)."""
    if isinstance(value, dict):
        for key, v in value.items():
            k = str(key).lower()
            if isinstance(v, str) and ("email" in k or "phone" in k or k.endswith(("_md5", "_sha256"))):
                ids.add(v)
            elif isinstance(v, list) and ("email" in k or "phone" in k):
                ids.update(x for x in v if isinstance(x, str))
            else:
                _harvest(v, ids, traits, personal or k in _PERSONAL)
    elif isinstance(value, list):
        for v in value:
            _harvest(v, ids, traits, personal)
    elif isinstance(value, str):
        for found in _EMAIL_IN_TEXT.findall(value):
            email = normalize_email(unquote_plus(found) if "%40" in found else found)
            if email:
                ids.add(email)
        if personal and len(value) >= 3:
            traits.add(value)


def _users(cur: duckdb.DuckDBPyConnection, prop: str, person: str, events: list[Event]) -> set[str]:
    """The person's user ids (never an anonymous id)."""
    found = _fetch(
        cur,
        "SELECT id FROM identities WHERE property = ? AND person_id = ? AND kind = 'user'",
        [prop, person],
    )
    return {r["id"] for r in found} | {e.user_id for e in events if e.user_id}


def _anonymise(event: Event, tombstone: str, needles: set[str]) -> Event:
    event.anonymous_id, event.user_id, event.user = tombstone, None, None
    context = dict(event.context or {})
    context.pop("ip", None)
    event.context = scrub(context, needles) or None
    event.properties = scrub(event.properties, needles)
    event.extras = scrub(event.extras, needles)
    return event


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
    everywhere: set[str] = set()
    users = {user} if user else set()
    anonymous: set[str] = set()
    for p, person in find_people(cur, user, email, prop):
        found = _person_events(cur, p, person)
        events = [rows.row_to_event(r) for r in found]
        strong, traits, ips = _identifiers(cur, p, person, events)
        needles = needles_for(strong | given)
        every = needles | needles_for(traits) | ips
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
        everywhere |= strong
        users |= _users(cur, p, person, events)
        anonymous |= {e.anonymous_id for e in events if e.anonymous_id} | {
            i for i in ids if not i.startswith("forgotten-")
        }
    # What is left anywhere (anyone's events, the derived tables, the quarantine): the ids,
    # emails and phones, in every form; IPs are the person's only in their own rows.
    global_needles = needles_for(_global(everywhere | given, users))
    report["elsewhere"] = scrub_everywhere(cur, global_needles)
    if log_needles is not None:
        log_needles |= global_needles | needles_for(anonymous)
    return report


_HEX = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{64}")


def _global(values: set[str], users: set[str]) -> set[str]:
    """The identifiers scrubbed from every table: user ids, emails, phones and hashes.
    Not anonymous ids (a shared device's cookie names other people too) and not IP
    addresses (many people share one): those go from the person's own rows only."""
    return {
        v
        for v in values
        if v in users or normalize_email(v) or normalize_phone(v) or _HEX.fullmatch(v.strip())
    }


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
        found = _person_events(cur, p, person)
        events = [rows.row_to_event(r) for r in found]
        strong, _, _ = _identifiers(cur, p, person, events)
        everywhere |= strong
        users |= _users(cur, p, person, events)
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
    global_needles = needles_for(_global(everywhere | given, users))
    elsewhere = {
        table: [{k: _readable(v) for k, v in r.items() if k != "__rowid"} for r in found]
        for table, found in matching_rows(cur, global_needles).items()
    }
    if file_needles is not None:
        file_needles |= global_needles | needles_for(anonymous)
    return {"people": people, "elsewhere": elsewhere}


def _readable(value: Any) -> Any:
    return bytes(value).decode("utf-8", errors="replace") if isinstance(value, bytes | bytearray) else value
