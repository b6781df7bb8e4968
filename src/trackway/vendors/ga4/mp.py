"""``ga4-mp``: GA4 Measurement Protocol request bodies (``POST /mp/collect``).

``{client_id | app_instance_id, user_id, timestamp_micros, user_properties, user_data,
consent, non_personalized_ads, user_location, ip_override, device, user_agent,
validation_behavior, events: [{name, params, timestamp_micros}]}`` gives one canonical
event per element of ``events``; issues of event *n* carry its index, issues of the
request -1 (an error there rejects every event of the body, as GA4 drops the request).

**Mapping.** ``client_id`` or ``app_instance_id`` is ``anonymous_id`` (``extras["$id"]``
records an app instance id), ``user_id`` is ``user_id``. The event's ``timestamp_micros``,
else its ``params.timestamp_micros`` (a common event parameter of the MP reference, kept
in ``properties``), else the request's is ``timestamp`` (UTC; microseconds are exact).
``user_properties`` are traits in ``user`` (name -> value); a property's own
``timestamp_micros`` rides in ``extras["user_properties"][name]``. ``consent`` is ``consent``
as sent, with the deprecated ``non_personalized_ads`` beside its keys. ``context`` holds
``ip`` (``ip_override``), ``user_agent``, ``device``, ``location`` (``user_location``) and
``user_data``, the last three as sent. ``params``: GA4's commerce parameters (the table
below) go to ``commerce``, the others (``session_id``, ``engagement_time_msec``,
``search_term``, ``method``, ``item_list_name``, ...) to ``properties``. Unknown keys of the
body ride in ``extras["request"]``, of an event in ``extras["event"]``. The request-level
fields are copied onto every event; ``encode_many`` puts consecutive events whose
request-level fields are equal back into one body, 25 events at most.

Readings taken where the reference is silent:

- **Severity.** GA4's RELAXED mode accepts an event whose parameters break a limit and
  drops the parameter. Trackway reports names and limits as errors in both modes: the
  event goes to the failed events with the reason instead of losing data unseen.
- **ENFORCE_RECOMMENDATIONS** "rejects event and item parameters that aren't the correct
  type ... and any event or user property with a timestamp that is not within the last
  72 hours" (MP reference). So under it a number sent as a string in ``params`` and a
  timestamp over 72 hours old are errors; under RELAXED they are warnings (GA4 reads the
  number, and records the event as 72 hours old). Missing recommended parameters stay
  warnings in both modes: GA4 does not name them among what the mode rejects.
- **Time.** The 72 hours run only when the collector gives ``received_at``; a time more
  than 15 minutes after it is a warning (a sender's clock), and so is a value that looks
  like milliseconds or seconds. A user property's timestamp follows the same rule at
  the request level.
- **Names.** A name with a reserved prefix (``_``, ``firebase_``, ``ga_``, ``google_``,
  ``gtag.``) is NAME_RESERVED, not also NAME_INVALID; an event named ``_x`` has no reserved
  prefix and is NAME_INVALID, as GA4 answers. ``ad_impression``, ``in_app_purchase`` and
  ``screen_view`` are NAME_RESERVED with a ``client_id`` (a web stream). Custom item
  parameters are item keys other than GA4's item parameters, ``location_id``, the
  promotion fields and ``currency``.
- **Both ids.** ``client_id`` with ``app_instance_id`` is a VALUE_INVALID error: the stream
  is one or the other.
- **Not checked here.** The 130 kB body limit is the server's (it has the bytes; encode
  warns above 130,000 bytes). NAME_DUPLICATED cannot arise: a JSON object naming a key
  twice reaches the adapter with its last value, and names are object keys everywhere
  in a body. ``user_data`` and ``device`` are kept as sent, unchecked.
- **Encode.** A missing ``anonymous_id`` is a VALUE_REQUIRED warning and the body has no
  ``client_id``: none is invented. Personal traits (email, phone, names, address,
  birthdate, hashes) are NOT_CARRIED: GA4 forbids them in user properties. Consent keys
  other than GA4's, context keys other than the five above, and ``Event.id`` are
  NOT_CARRIED; ``context.page`` gives ``page_location``, ``page_title``, ``page_referrer``
  unless the event has them. Each rendered body is checked by the decoder: what GA4
  would reject (a 45-character name, a hyphen in a parameter name) is a warning.
- **Debug endpoint.** :func:`validation_messages` answers with the errors, and the warnings
  whose code is one of GA4's seven (an old timestamp under RELAXED): Trackway's own
  warnings (a number as a string, a missing recommended parameter) are not GA4 messages.
  ``fieldPath`` is the path without ``$`` and indices (``events.params.items.price``); a
  name issue names the container of the name (``events`` for an event name, as GA4
  does). The description starts with the exact Trackway path.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from trackway.dialects.base import Adapter, DecodeContext, EncodeOptions, EventDoc
from trackway.dialects.fields import Table
from trackway.issues import CODES, Issue, Issues
from trackway.model import Event, encode_json
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.ga4 import mp_read as rd
from trackway.vendors.ga4 import mp_write as wr
from trackway.vendors.ga4.mp_fast import decode_plain_mp
from trackway.vendors.ga4.mp_rules import MAX_EVENTS

_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]")


def field_path(path: str, code: str) -> str:
    """GA4's ``fieldPath`` for a Trackway path: no ``$``, no indices; a name issue names its container.

    ``$.events[3].params.items[2].price`` is ``events.params.items.price``;
    ``$.events[0].name`` with NAME_INVALID is ``events`` (as GA4 answers for a bad event
    name), ``$.events[0].params['procedure-slug']`` with NAME_INVALID is ``events.params``.
    """
    keys = []
    for m in _SEGMENT.finditer(path):
        if m.group(1) is not None:
            keys.append(m.group(1))
        elif m.group(3) is not None:
            keys.append(m.group(3)[1:-1])
    if code in ("NAME_INVALID", "NAME_RESERVED") and keys:
        keys.pop()
    return ".".join(keys)


MAX_BODY = 130_000  # bytes: "The POST body must be smaller than 130kB"
GA4_CODES = frozenset(c.name for c in CODES.values() if c.name == c.ga4)


def validation_messages(issues: list[Issue]) -> list[dict[str, str]]:
    """The ``validationMessages`` of ``/debug/mp/collect`` for a body's decode issues."""
    out = []
    seen = set()
    for issue in issues:
        if not issue.is_error and issue.code not in GA4_CODES:
            continue
        message = {
            "fieldPath": field_path(issue.path, issue.code),
            "description": f"{issue.path}: {issue.message}",
            "validationCode": CODES[issue.code].ga4,
        }
        key = tuple(message.values())
        if key not in seen:
            seen.add(key)
            out.append(message)
    return out


def _summary(rule: ga4.EventRule) -> str:
    parts = []
    if rule.required:
        parts.append("required: " + ", ".join(rule.required))
    if rule.recommended:
        parts.append("recommended: " + ", ".join(rule.recommended))
    if rule.items != "none":
        parts.append(f"items {rule.items}")
    return "; ".join(parts)


class Ga4Mp(Adapter):
    name = wr.DIALECT
    title = "GA4 Measurement Protocol"
    detect_order = 100
    events = (
        *(EventDoc(n, n, _summary(r)) for n, r in ga4.EVENTS.items()),
        EventDoc(
            "any other name",
            "the same name",
            "a custom event: letters, digits and underscores, starting with a letter, at most 40",
        ),
    )

    def sniff(self, payload: Any) -> int:
        if type(payload) is not dict:
            return 0
        events = payload.get("events")
        if (
            type(events) is list
            and events
            and all(type(e) is dict and type(e.get("name")) is str for e in events)
        ):
            return 95
        if type(payload.get("client_id")) is str or type(payload.get("app_instance_id")) is str:
            return 95
        return 40 if type(events) is list else 0

    amounts = ga4.AMOUNTS

    def decode(self, payload: Any, ctx: DecodeContext, issues: Issues) -> list[Event]:
        return rd.decode_body(payload, self.name, ctx, issues)

    def decode_plain(self, data: bytes | str, ctx: DecodeContext, issues: Issues) -> list[Event] | None:
        """The typed fast path (``ga4_mp_fast``): plain bodies from their JSON text; None for the rest."""
        return decode_plain_mp(data, self.name, ctx, issues)

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        n = issues.event
        body = wr.render_request(event, issues)
        body["events"] = [wr.render_event(event, "$.events[0]", issues)]
        self._check(body, [n], issues)
        issues.event = n
        return body

    def encode_many(self, events: list[Event], options: EncodeOptions, issues: Issues) -> list[Any]:
        """Consecutive events with the same request-level fields share a body of at most 25 events."""
        out = []
        for body, members in list(wr.group(events, issues)):
            self._check(body, members, issues)
            out.append(body)
        issues.event = -1
        return out

    def _check(self, body: dict[str, Any], members: list[int], issues: Issues) -> None:
        """What GA4 would reject in a rendered body, as warnings on the events it concerns."""
        scratch = Issues()
        rd.decode_body(body, self.name, DecodeContext(), scratch)
        for issue in scratch.items:
            if not issue.is_error or (issue.path == "$.client_id" and issue.code == "VALUE_REQUIRED"):
                continue  # a missing client_id is reported per event by render_request
            issues.event = members[issue.event] if 0 <= issue.event < len(members) else members[0]
            issues.warning(issue.path, issue.code, f"GA4 would reject the rendered body: {issue.message}")
        try:
            size = len(encode_json(body))
        except (TypeError, msgspec.EncodeError):
            return
        if size > MAX_BODY:
            issues.event = members[0]
            issues.warning(
                "$",
                "VALUE_OUT_OF_BOUNDS",
                f"GA4 takes bodies under 130 kB, the rendered one has {size} bytes; "
                f"send fewer than {min(len(members), MAX_EVENTS)} events per body",
            )

    def tables(self) -> list[Table]:
        return [rd.REQUEST, rd.EVENT, rd.USER_PROPERTY, rd.CONSENT, ga4.COMMERCE, ga4.ITEM]
