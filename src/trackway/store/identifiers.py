"""What names a person in the store, and where it is found: the part of ``trackway
forget`` (store/forget.py) and ``trackway subject-export`` (store/subject.py) they share.

- :func:`find_people`: the people a user id or an email names;
- :func:`person_ids`: a person's identifiers (ids, emails, phones and their hashes),
  other trait values and IPs, read once for both commands, and :func:`request_needles`,
  what both look for beyond the person's own rows (every table, the files beside it);
- :func:`forms`, :func:`needles_for`: every form an identifier is stored in (as sent,
  case-folded, normalised, percent-encoded, md5 and sha256 hex);
- :func:`compile_needles`, :func:`scrub`, :func:`matching_rows`: finding them as whole
  values in any string, and in every row of every table, and replacing them with
  ``[forgotten]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import duckdb

from trackway.model import Event
from trackway.privacy.elsewhere import google_email, identifier_hash
from trackway.privacy.pii import md5_hex, normalize_email, normalize_phone, sha256_hex
from trackway.state.keys import key as state_key
from trackway.store import rows
from trackway.store.state_tables import _fetch

FORGOTTEN = "[forgotten]"
TOMBSTONE = "forgotten-"  # the anonymous id a forgotten person's events keep (forgotten-<hex>)


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


def needles_for(values: AbstractSet[str]) -> set[str]:
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


def match_sql(needles: set[str], text: str = "CAST(t AS VARCHAR)") -> tuple[str, list[str]]:
    """A condition true for a row (aliased ``t``) whose ``text`` holds a needle, any
    case: one RE2 alternation over the row as text, a scan of 1M events in ~3 s where
    a ``contains`` per needle took ~30 s. Rows it finds are confirmed in Python."""
    if not needles:
        return "false", []
    alternation = "|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True))
    return f"regexp_matches({text}, ?)", ["(?i)" + alternation]


def matching_rows(
    cur: duckdb.DuckDBPyConnection, needles: set[str], prop: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table holding one of ``needles`` in any column (text, JSON,
    blob, nested), by table, each with its ``rowid``. With ``prop``, only that property's
    rows (a property's token sees and acts on its own data only), and no table without a
    ``property`` column."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not needles:
        return out
    cond, params = match_sql(needles)
    pattern = compile_needles(needles)
    assert pattern is not None
    for table in tables(cur):
        where, args = cond, params
        if prop is not None:
            if not _has_property(cur, table):
                continue
            where, args = f"t.property = ? AND {cond}", [prop, *params]
        found = _fetch(cur, f'SELECT rowid AS "__rowid", * FROM "{table}" t WHERE {where}', args)
        # CAST(row AS VARCHAR) shows a blob's other bytes as \xNN: confirm on the values
        found = [r for r in found if scrub(r, pattern) != r]
        if found:
            out[table] = found
    return out


def _has_property(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = cur.execute(
        "SELECT 1 FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ? AND column_name = 'property'",
        [table],
    ).fetchall()
    return bool(found)


def find_people(
    cur: duckdb.DuckDBPyConnection, user: str | None, email: str | None, prop: str | None
) -> list[tuple[str, str]]:
    """(property, person_id) of everyone the user id or email names."""
    where_p = " AND property = ?" if prop else ""
    extra = [prop] if prop else []
    found: set[tuple[str, str]] = set()
    # A user id that is an email or a phone is stored as its hash under identifiers = "hash"
    # (trackway.privacy.elsewhere): the user id as given or hashed, the email's hashed forms.
    # The state keys its ids without the spaces around them (state/keys.py): " bob " is bob.
    ids = [user, state_key(user), identifier_hash(user), identifier_hash(state_key(user))] if user else []
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
        # A user id that is the email in another case or with spaces (identifiers = "keep"
        # keeps "Bob@X.com" and "bob@x.com " apart: two people, both named by the address)
        for r in _fetch(
            cur,
            "SELECT property, person_id FROM identities WHERE kind = 'user' AND lower(trim(id)) = ?"
            + where_p,
            [email.strip().lower(), *extra],
        ):
            found.add((r["property"], r["person_id"]))
        # The person whose events carry the email (any form) in their traits, context
        # (GA4 MP user_data), extras or a dataLayer user_data, not only in user.email;
        # an email elsewhere (a page_location) is scrubbed but names nobody.
        cond, params = match_sql(
            forms(email), "concat_ws(' ', t.user, t.context, t.extras, t.properties->'user_data')"
        )
        query = (
            "SELECT DISTINCT property, person_id FROM event_persons WHERE person_id IS NOT NULL AND seq IN "
            f"(SELECT seq FROM events t WHERE {cond})" + where_p
        )
        for r in _fetch(cur, query, [*params, *extra]):
            found.add((r["property"], r["person_id"]))
    return sorted(found)


def person_events(cur: duckdb.DuckDBPyConnection, prop: str, person: str) -> list[dict[str, Any]]:
    return _fetch(
        cur,
        f"SELECT {rows.QUOTED_COLUMNS}, person_key FROM event_persons "
        "WHERE property = ? AND person_id = ? ORDER BY seq",
        [prop, person],
    )


@dataclass(frozen=True)
class PersonIds:
    """What names one person, read before anything of theirs is rewritten.

    ``table``: their ids in the identity table (sorted); ``strong``: every identifier
    (those ids, their events' anonymous and user ids, emails, phones, hashes), which marks
    a payload as theirs; ``traits``: their other trait values (names, city, ...); ``ips``:
    their events' IP addresses; ``users``: their user ids; ``anonymous``: their anonymous
    ids, the identity table's (not the tombstone of an earlier forget) and their events'.
    Traits and IPs are scrubbed only where an identifier shows the payload is theirs: an IP
    marked the payloads of everyone behind the same address (a proxy, an office, every
    demo request) as the person's, exported them and erased their IPs."""

    table: tuple[str, ...]
    strong: frozenset[str]
    traits: frozenset[str]
    ips: frozenset[str]
    users: frozenset[str]
    anonymous: frozenset[str]


def person_ids(cur: duckdb.DuckDBPyConnection, prop: str, person: str, events: list[Event]) -> PersonIds:
    """The :class:`PersonIds` of ``person`` of ``prop``, whose events are ``events``: what
    ``forget`` erases and ``subject-export`` searches with, the one reading for both."""
    known = _fetch(
        cur, "SELECT kind, id FROM identities WHERE property = ? AND person_id = ?", [prop, person]
    )
    table = {r["id"] for r in known}
    users = {r["id"] for r in known if r["kind"] == "user"} | {e.user_id for e in events if e.user_id}
    anonymous = {r["id"] for r in known if r["kind"] != "user" and not r["id"].startswith(TOMBSTONE)}
    anonymous |= {e.anonymous_id for e in events if e.anonymous_id}
    ids = set(table)
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
    return PersonIds(
        tuple(sorted(table)),
        frozenset(ids),
        frozenset(traits),
        frozenset(ips),
        frozenset(users),
        frozenset(anonymous),
    )


def request_needles(
    people: Iterable[PersonIds], user: str | None, email: str | None
) -> tuple[set[str], set[str]]:
    """What a forget (or an export) of ``user`` or ``email`` looks for beyond the people's
    own rows, in every form (:func:`needles_for`): in every table, their user ids, emails,
    phones and hashes (:func:`global_ids`); in the files beside the store (the log, the
    destinations' dead letters), these and their anonymous ids."""
    given = {v for v in (user, email) if v}
    everywhere, users = set(given), {user} if user else set()
    anonymous: set[str] = set()
    for p in people:
        everywhere |= p.strong
        users |= p.users
        anonymous |= p.anonymous
    tables = needles_for(global_ids(everywhere, users))
    return tables, tables | needles_for(anonymous)


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


_HEX = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{64}")


def global_ids(values: set[str], users: set[str]) -> set[str]:
    """The identifiers scrubbed from every table: user ids, emails, phones and hashes.
    Not anonymous ids (a shared device's cookie names other people too) and not IP
    addresses (many people share one): those go from the person's own rows only."""
    return {
        v
        for v in values
        if v in users or normalize_email(v) or normalize_phone(v) or _HEX.fullmatch(v.strip())
    }
