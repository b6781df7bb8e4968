"""``commanders-act``: Commanders Act events, as ``cact()`` calls and server-side API bodies.

Forms, all decoded: the JS call ``["trigger", name, params]`` (every example of the
events reference; the SDK's ``cact('config', {siteId, ...})`` carries no event: it
decodes to no event and no issue, a non-event), the HTTP API body ``{"event_name":
name, ...params, "user": {...}, "context": {"event_id", "event_timestamp", "page",
"device"}}`` and its batch
``{"batch": [body, ...]}`` (one event per element). ``extras["$form"]`` records the
form; encode uses ``EncodeOptions.form``, else that, else ``server``. Event names are
GA4's; undocumented names are custom events, kept as sent.

Readings taken where the reference is silent or contradicts itself:

- **Amounts.** ``value`` (tax and shipping included) is ``commerce.value``, ``revenue``
  (excluded) is ``commerce.revenue``; ``shipping_amount`` and ``tax_amount`` are
  ``shipping`` and ``tax``. ``product.price`` is the list price: the item's ``price`` is
  ``product.price - discount`` and encode writes ``product.price = price + discount``.
  ``list_position`` is ``index`` as sent.
- **purchase and refund in the call form.** Their tables mark ``type``, ``status`` and
  ``payment_method`` (refund: ``type``) "Yes", but the document's own ``cact()`` examples
  leave them out. They are errors in the server form and warnings in the call form.
- **refund** without ``items`` is a full refund and is accepted; with items, a partial one.
- **user.** The cact SDK adds ``user`` (with ``consent_categories`` from the Commanders
  Act CMP) to web calls, so neither is checked in the call form. In the server form a
  missing ``user`` is an error on every event whose table lists it (all but
  ``select_item``), a warning elsewhere; a missing ``consent_categories`` is a warning,
  since the document's own user examples (the hashed user) leave it out and the
  categories gate sharing with destinations, not the event; likewise a missing
  ``consistent_anonymous_id``, which the HTTP API asks for. The starred user fields
  (``id``, ``email`` or ``email_sha256``, ``phone`` or its hashes) are warnings. Untidy
  but clear identifiers are normalised with a VALUE_NORMALISED warning, the event kept:
  spaces around an email, phone or hash, an upper-case email domain or hex digest, a
  phone written ``+33 6 12 34 56 78``, a gender ``M`` (see ``trackway.rules.identity``).
- **consent_categories** ``[1, 3]`` and ``["1", "3"]`` are the same categories:
  ``consent["categories"]`` holds strings; the form sent is kept for the round trip.
- **Starred parameters.** "Yes*", "No*" and "typically required" are warnings: item
  ``affiliation``, ``product.id``, ``value``/``revenue`` where the table says so.
  ``page_type`` outside the recommended list is a warning; ``payment_method`` and
  ``status`` outside their enumerations are errors (case matters) on any event.
- **Encode.** Fields Commanders Act has no place for are NOT_CARRIED warnings. The
  rendered payload is checked with the decoder: what Commanders Act would reject (a
  purchase with no ``revenue``, an item with no ``product.name``) is a warning, and the
  missing value is left out, never invented. ``view_promotion``, ``select_promotion``
  and ``share`` have no counterpart: they are rendered as custom events of that name.
"""

from __future__ import annotations

from typing import Any

from trackway.dialects.base import Adapter, DecodeContext, EncodeOptions, EventDoc
from trackway.dialects.fields import Table, merge_extras
from trackway.issues import MISSING, Issues, Path, describe
from trackway.model import Event
from trackway.vendors.commanders_act import schema as s
from trackway.vendors.commanders_act.read import read_params
from trackway.vendors.commanders_act.user import check_server_user, read_context, read_user
from trackway.vendors.commanders_act.write import write_event

FORMS = ("call", "server")
_MISSING: Any = object()


def read_event(name: str, params: dict[str, Any], base: Path, form: str, issues: Issues) -> Event:
    user = params.get("user", _MISSING)
    if user is not _MISSING:
        params = {k: v for k, v in params.items() if k != "user"}
    event = read_params(name, params, base, form, issues)
    if user is not _MISSING:
        read_user(user, (base, "user"), event, issues)
    if form == "server":
        check_server_user(name, None if user is _MISSING else user, base, issues)
    event.extras["$form"] = form
    return event


def summary(rule: s.CaRule) -> str:
    """The rule of an event, for the generated docs."""
    parts = []
    if rule.required:
        parts.append("required: " + ", ".join(rule.required))
    if rule.recommended:
        parts.append("recommended: " + ", ".join(rule.recommended))
    if rule.items != "none":
        parts.append(f"items {rule.items}")
    if rule.summary:
        parts.append(rule.summary)
    return "; ".join(parts)


def _name(value: Any, path: Path, issues: Issues) -> str | None:
    if type(value) is str and value:
        return value
    code = "VALUE_REQUIRED" if value is None or value is MISSING or value == "" else "TYPE_INVALID"
    issues.error(path, code, f"expected the event name as a string such as 'purchase', got {describe(value)}")
    return None


def is_config(payload: Any) -> bool:
    """``cact('config', {siteId, sourceKey, collectionDomain})``: the JS SDK's set-up call."""
    return type(payload) is list and len(payload) > 0 and payload[0] == "config"


def check_config(payload: list[Any], issues: Issues) -> None:
    """A config call carries no event (a non-event, valid); only its shape is checked."""
    if len(payload) != 2 or type(payload[1]) is not dict:
        event, issues.event = issues.event, -1  # no event: the payload's issue
        issues.error(
            "$",
            "PAYLOAD_INVALID",
            f"expected cact('config', {{siteId, sourceKey, ...}}), got {describe(payload)}",
        )
        issues.event = event


def decode_call(payload: list[Any], issues: Issues) -> Event | None:
    if is_config(payload):
        check_config(payload, issues)
        return None
    if not payload or payload[0] != "trigger":
        first = payload[0] if payload else MISSING
        issues.error(
            "$[0]" if payload else "$",
            "PAYLOAD_INVALID",
            f"expected a cact() call ['trigger', name, params], got {describe(first)} first; "
            "only 'trigger' calls carry events ('config' carries none)",
        )
        return None
    name = _name(payload[1] if len(payload) > 1 else MISSING, "$[1]", issues)
    params = payload[2] if len(payload) > 2 else {}
    if type(params) is not dict:
        issues.error(
            "$[2]", "TYPE_INVALID", f"expected the event parameters as an object, got {describe(params)}"
        )
        params = {}
    if len(payload) > 3:
        issues.error(
            "$[3]",
            "PAYLOAD_INVALID",
            f"expected cact('trigger', name, params) with 3 arguments, got {len(payload)}; remove the others",
        )
    event = read_event(name or "", params, ("$", 2), "call", issues)
    if len(payload) == 2:
        event.extras["$bare"] = True
    return event if name is not None else None


def decode_server(obj: Any, base: Path, issues: Issues) -> tuple[Event, bool]:
    """One server-side body; the flag says whether it names its event."""
    if type(obj) is not dict:
        issues.error(
            base, "TYPE_INVALID", f"expected an event object {{event_name, ...}}, got {describe(obj)}"
        )
        return Event(name="", dialect=s.DIALECT, extras={"$form": "server"}), False
    name = _name(obj.get("event_name", MISSING), (base, "event_name"), issues)
    params = {k: v for k, v in obj.items() if k != "event_name" and k != "context"}
    event = read_event(name or "", params, base, "server", issues)
    read_context(obj.get("context"), (base, "context"), event, issues)
    return event, name is not None


class CommandersAct(Adapter):
    name = "commanders-act"
    title = "Commanders Act: cact() calls and the server-side HTTP API"
    detect_order = 70
    callees = frozenset({"cact"})
    events = tuple(EventDoc(n, n, summary(r)) for n, r in s.EVENTS.items())
    amounts = s.AMOUNTS

    def sniff(self, payload: Any) -> int:
        t = type(payload)
        if t is list:
            if is_config(payload):
                return 80 if len(payload) == 2 and type(payload[1]) is dict else 30
            if not payload or payload[0] != "trigger":
                return 0
            return 95 if len(payload) > 1 and type(payload[1]) is str else 60
        if t is not dict:
            return 0
        if type(payload.get("event_name")) is str:
            return 95
        batch = payload.get("batch")
        if type(batch) is list and batch:
            if all(type(e) is dict and type(e.get("event_name")) is str for e in batch):
                return 90
            return 40
        return 0

    def decode(self, payload: Any, ctx: DecodeContext, issues: Issues) -> list[Event]:
        events: list[Event] = []
        if type(payload) is list:
            issues.event = 0
            event = decode_call(payload, issues)
            if event is not None:
                events.append(event)
        elif type(payload) is dict and "batch" in payload and "event_name" not in payload:
            events = self._batch(payload, issues)
        elif type(payload) is dict:
            issues.event = 0
            event, named = decode_server(payload, "$", issues)
            if named:
                events.append(event)
        else:
            issues.error(
                "$",
                "PAYLOAD_INVALID",
                f"expected a cact() call ['trigger', name, params] or a server body {{event_name, ...}}, "
                f"got {describe(payload)}",
            )
        return events

    def _batch(self, payload: dict[str, Any], issues: Issues) -> list[Event]:
        batch = payload["batch"]
        if type(batch) is not list or not batch:
            issues.error(
                "$.batch", "VALUE_REQUIRED", f"expected a batch of event objects [...], got {describe(batch)}"
            )
            return []
        events = []
        for n, obj in enumerate(batch):
            issues.event = n  # every element gives an event, so issues stay aligned
            event, _ = decode_server(obj, (("$", "batch"), n), issues)
            event.extras["$batch"] = n
            events.append(event)
        request = {k: v for k, v in payload.items() if k != "batch"}
        if request:
            events[0].extras["$request"] = request
        return events

    def form(self, event: Event, options: EncodeOptions, issues: Issues) -> str:
        if options.form in FORMS:
            return options.form
        if options.form is not None:
            issues.warning(
                "form",
                "VALUE_INVALID",
                f"expected the Commanders Act form 'call' or 'server', got {options.form!r}; "
                "the event's own form is used",
            )
        source = event.extras.get("$form")
        return source if source in FORMS else "server"

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        form = self.form(event, options, issues)
        out = write_event(event, form, issues)
        self._check_rendered(out, form, issues)
        return out

    def _check_rendered(self, out: Any, form: str, issues: Issues) -> None:
        """What Commanders Act would reject in the rendered payload, as warnings."""
        scratch = Issues()
        if form == "call":
            decode_call(out, scratch)
        else:
            decode_server(out, "$", scratch)
        for issue in scratch.items:
            if issue.is_error:
                issues.warning(
                    issue.path,
                    issue.code,
                    f"Commanders Act would reject the rendered payload: {issue.message}",
                )

    def encode_many(self, events: list[Event], options: EncodeOptions, issues: Issues) -> list[Any]:
        """Events decoded from one batch body are rendered back as one batch body."""
        out: list[Any] = []
        group: list[Any] | None = None
        for n, event in enumerate(events):
            issues.event = n
            payload = self.encode(event, options, issues)
            pos = event.extras.get("$batch")
            if type(pos) is int and type(payload) is dict:
                if group is None or pos == 0:
                    body: dict[str, Any] = {"batch": []}
                    merge_extras(body, event.extras.get("$request") or {}, "$", issues)
                    group = body["batch"]
                    out.append(body)
                group.append(payload)
            else:
                group = None
                out.append(payload)
        issues.event = -1
        return out

    def tables(self) -> list[Table]:
        return [s.COMMERCE, s.PARAMS, s.ITEM, s.PRODUCT, s.PRODUCT_KEPT, s.USER, s.CONTEXT, s.PAGE, s.DEVICE]
