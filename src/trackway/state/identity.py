"""Identity stitching: which person an event belongs to.

Rules (issue 4):

- An event carrying an anonymous id and a user id links them: the guest is that
  user. A person id per property resolves every event of the guest to the user,
  earlier ones included, because events keep the ids they were sent with and the
  ``identities`` table maps each id to its person (resolved when read).
- Two different user ids are never merged: an anonymous id already linked to one
  user and seen with another is recorded in ``identity_conflicts``; the event
  belongs to the second user, and the anonymous id stays with the first.
- Placeholder values ("null", "undefined", "0", "", "anonymous", "guest", ...) are
  never ids.
- Ids are keyed without the white space around them (:mod:`trackway.state.keys`):
  " bob " is "bob". Events keep their ids as sent.
- A new person's id derives from the id of the event that first saw it: stable
  across a rebuild, and not made from an identifier.
- The browser tracker sends the vendors' own ids of the device it runs on
  (``context["ids"]``: GA's client id, Convead's guest uid, Commanders Act's
  consistent anonymous id). Each is another anonymous id of the event's person, so an
  event a vendor's own channel sends with that id (a Convead ``guest_uid``) resolves to
  the same person. Two guests so found to be one are merged; a guest and a user, into
  the user; the devices of two different users are never merged (the id stays with
  its first owner).
"""

from __future__ import annotations

import re
from datetime import datetime

from trackway.model import DEVICE_ID_MAX, Event
from trackway.state.carts import move_carts
from trackway.state.keys import key
from trackway.state.memory import MemoryState
from trackway.state.model import Conflict, Identity, Link
from trackway.state.orders import move_orders
from trackway.state.procedures import move_procedures

PLACEHOLDERS = frozenset(
    {
        "",
        "null",
        "undefined",
        "none",
        "nil",
        "nan",
        "0",
        "-1",
        "anonymous",
        "anon",
        "guest",
        "unknown",
        "n/a",
        "na",
        "[object object]",
        "(not set)",
        "not set",
        "false",
        "true",
        # a variable's name sent where its value was meant
        "user_id",
        "userid",
        "anonymous_id",
        "client_id",
        "visitor_id",
    }
)
# An unexpanded template ({{user_id}}, ${user_id}, <user_id>, %USER_ID%, [[user_id]]), dashes
# alone, or a zero in any spelling (00, 0.0): nobody's id either, and each merged every guest
# that sent it into one person.
_NOBODY = re.compile(r"\{\{.*\}\}|\$\{.*\}|<[\w.-]*>|%\w+%|\[\[.*\]\]|-+|0+(?:\.0+)?", re.DOTALL)


def usable(value: str | None) -> str | None:
    """``value`` as the state keys it (:func:`key`) if it can identify someone, None for
    a placeholder."""
    if value is None:
        return None
    text = key(value)
    bare = text.strip().strip("'\"").strip().lower()  # 'null' quoted by a template
    return None if bare in PLACEHOLDERS or _NOBODY.fullmatch(bare) else text


def aliases(event: Event) -> list[str]:
    """The device's other anonymous ids the event carries (``context["ids"]``, by name
    order), usable ones only, without the event's own anonymous id."""
    ids = event.context.get("ids") if type(event.context) is dict else None
    if type(ids) is not dict:
        return []
    out: list[str] = []
    own = usable(event.anonymous_id)
    for name in sorted(k for k in ids if type(k) is str):
        value = ids[name]
        if type(value) is str and len(value) <= DEVICE_ID_MAX:
            alias = usable(value)
            if alias is not None and alias != own and alias not in out:
                out.append(alias)
    return out


def person_id_for(event: Event) -> str:
    return f"p_{event.id}"


def _see(state: MemoryState, prop: str, kind: str, value: str, person: str, at: datetime) -> None:
    row = state.identity(prop, kind, value)
    if row is None:
        state.set_identity(
            Identity(property=prop, kind=kind, id=value, person_id=person, first_seen=at, last_seen=at)
        )
    elif at > row.last_seen or row.person_id != person:
        row.last_seen = max(row.last_seen, at)
        row.person_id = person
        state.set_identity(row)


def merge(state: MemoryState, prop: str, source: str, target: str, at: datetime) -> None:
    """Every id of person ``source`` (a guest, with no user id) becomes ``target``'s, with
    its carts, orders and procedures."""
    for kind, value in sorted(state.members.pop((prop, source), set())):
        row = state.identities[(prop, kind, value)]
        row.person_id = target
        state.set_identity(row)
    state.merges.append((prop, source, target))
    move_carts(state, prop, source, target, at)
    move_orders(state, prop, source, target)
    move_procedures(state, prop, source, target)


def resolve(state: MemoryState, event: Event) -> str | None:
    """The person of ``event`` (None when it carries no usable id), linking ids as it goes."""
    person = _resolve(state, event)
    if person is not None:
        at = event.timestamp or event.received_at
        assert at is not None, "stored events always have a timestamp"
        for alias in aliases(event):
            person = _alias(state, event.property, alias, person, at)
    return person


def _alias(state: MemoryState, prop: str, alias: str, person: str, at: datetime) -> str:
    """Link ``alias`` (another anonymous id of the device) to ``person``; returns the
    person the event belongs to afterwards (the user's, when a guest joins a user)."""
    row = state.identity(prop, "anonymous", alias)
    if row is None or row.person_id == person:
        _see(state, prop, "anonymous", alias, person, at)
        return person
    other = row.person_id
    if state.has_user(prop, other) is None:  # the alias's guest is this person
        merge(state, prop, other, person, at)
        return person
    if state.has_user(prop, person) is None:  # this guest is the alias's user
        merge(state, prop, person, other, at)
        return other
    return person  # two users' devices are never merged: the alias stays with its owner


def _resolve(state: MemoryState, event: Event) -> str | None:
    prop, at = event.property, event.timestamp or event.received_at
    assert at is not None, "stored events always have a timestamp"
    anon, user = usable(event.anonymous_id), usable(event.user_id)
    if user is None:
        if anon is None:
            return None
        row = state.identity(prop, "anonymous", anon)
        person = row.person_id if row is not None else person_id_for(event)
        _see(state, prop, "anonymous", anon, person, at)
        return person
    urow = state.identity(prop, "user", user)
    if anon is None:
        person = urow.person_id if urow is not None else person_id_for(event)
        _see(state, prop, "user", user, person, at)
        return person
    arow = state.identity(prop, "anonymous", anon)
    if arow is None:  # a new device for this user, or a new person
        person = urow.person_id if urow is not None else person_id_for(event)
        _see(state, prop, "user", user, person, at)
        _see(state, prop, "anonymous", anon, person, at)
        state.links.append(Link(property=prop, anonymous_id=anon, user_id=user, event_id=event.id, at=at))
        return person
    guest = arow.person_id
    if urow is not None and urow.person_id == guest:  # linked before
        _see(state, prop, "user", user, guest, at)
        _see(state, prop, "anonymous", anon, guest, at)
        return guest
    owner = state.has_user(prop, guest)
    if owner is not None and owner != user:  # the anonymous id belongs to another user
        state.conflicts.append(
            Conflict(
                property=prop, anonymous_id=anon, user_id=owner, other_user_id=user, event_id=event.id, at=at
            )
        )
        person = urow.person_id if urow is not None else person_id_for(event)
        _see(state, prop, "user", user, person, at)
        arow.last_seen = max(arow.last_seen, at)
        state.set_identity(arow)
        return person
    # the guest logs in: it becomes the user's person (or the user joins the guest's person)
    if urow is None:
        _see(state, prop, "user", user, guest, at)
        _see(state, prop, "anonymous", anon, guest, at)
        person = guest
    else:
        person = urow.person_id
        merge(state, prop, guest, person, at)
        _see(state, prop, "user", user, person, at)
        _see(state, prop, "anonymous", anon, person, at)
    state.links.append(Link(property=prop, anonymous_id=anon, user_id=user, event_id=event.id, at=at))
    return person
