"""``koalect``: Koalect's donation-procedure dataLayer (GTM objects, GA4-shaped ecommerce).

``{"event": name, "ecommerce": {...}, ...}`` with the procedure context at the root
(``procedure_id``, ``procedure_slug``, ``procedure_category``, ``procedure_target_type``,
``procedure_target_id``). Root keys are event parameters: they become ``properties``
under their Koalect names; ``share_method`` and ``auth_method`` become GA4's ``method``
and are renamed back on encode. ``checkout`` is ``begin_checkout``, ``transaction`` is
``purchase``, ``register`` is ``sign_up``; ``execution`` and the project and action
events keep their names. Undocumented event names are custom events, kept as sent.

Readings taken where the document is silent or wrong:

- **ecommerce.** GA4's fields, with Koalect's ``payment_method`` (its own values such as
  ``bancontact``) as ``commerce.payment_method``. ``category``, ``is_subscription``,
  ``target_id``, ``target_type`` and ``fee`` have no Commerce home: they are validated
  (``fee`` is a Decimal amount) and kept in ``extras["ecommerce"]``, so encode writes them
  back inside ``ecommerce`` (and gtm-ga4 renders them there too). Other unknown
  ``ecommerce`` keys ride there as sent; unknown root keys are ``properties``.
- **currency.** Some events send ``value`` without ``currency``: the property's
  ``default_currency`` fills it (``commerce.currency_filled``, a VALUE_FILLED warning),
  and encode writes it. With no default it is a VALUE_REQUIRED error; never USD.
- **click_link.** The example's ``traget_name`` is read as ``target_name`` with a
  VALUE_FILLED warning and encoded as ``target_name``.
- **Procedure events** without their procedure context get a RECOMMENDED_MISSING warning
  per missing key; ``step_name`` must be one of the document's steps and fit the
  procedure category (``custom`` and ``success`` fit any).
- **Exact round trips.** A root key sent under the canonical name where Koalect has its
  own (``method`` on a share or login) and a ``traget_name`` sent beside ``target_name``
  are kept in ``extras["root"]`` and rendered back as sent; a canonical event name sent
  as such (``purchase``) is kept in ``extras["$event"]``.
"""

from __future__ import annotations

from typing import Any

from trackway import amounts
from trackway.dialects.base import (
    DecodeContext,
    EncodeOptions,
    EventDoc,
    SingleEventAdapter,
    report_foreign_extras,
    report_uncarried,
)
from trackway.dialects.fields import ITEMS_APART, Table, merge_extras
from trackway.issues import MISSING, Issues, describe
from trackway.model import Commerce, Event
from trackway.rules.codes import check_precision
from trackway.rules.values import sent
from trackway.vendors.ga4 import commands
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.koalect import schema as s
from trackway.vendors.koalect.schema import parse_consent_cookie

_RESERVED = frozenset({"event", "ecommerce", "event_id"})
_CONTAINERS = ("ecommerce", "root")  # extras rendered back: inside ecommerce, at the root
AMOUNTS = amounts.Meaning("Koalect", wire={"value": "value", "tax": "tax", "shipping": "shipping"})  # GA4's


def _read_ecommerce(
    ecom: dict[str, Any], ctx: DecodeContext, issues: Issues
) -> tuple[Commerce, dict[str, Any]]:
    """The Commerce of a Koalect ``ecommerce`` object and its keys with no Commerce home."""
    values, rest = s.COMMERCE.read(ecom, "$.ecommerce", issues)
    raw_items = values.pop("items", None)
    commerce = Commerce(**values)
    if raw_items is not None:
        commerce.items = ga4.read_items(raw_items, ("$.ecommerce", "items"), issues)
    checked, unknown = s.ECOMMERCE_EXTRAS.read(rest, "$.ecommerce", issues)
    kept = {k.removeprefix(s.EXTRAS_PREFIX): v for k, v in checked.items()}
    extras = {**unknown, **kept}
    if commerce.value is not None and commerce.currency is None and ecom.get("currency") is None:
        if ctx.default_currency:
            commerce.currency = ctx.default_currency
            commerce.currency_filled = True
            extras.pop("currency", None)  # a null currency is replaced by the filled one
            issues.warning(
                ("$.ecommerce", "currency"),
                "VALUE_FILLED",
                f"expected a currency because value is set, got none; filled with the property's "
                f"default currency {ctx.default_currency}. Send currency to be sure",
            )
        else:
            issues.error(
                ("$.ecommerce", "currency"),
                "VALUE_REQUIRED",
                "expected a currency (ISO 4217) because value is set, got none, and the property has no "
                "default currency; add currency such as 'EUR' or set the property's default_currency",
            )
    ga4.check_money(commerce, "$.ecommerce", issues, currency_sent=True)
    fee = kept.get("fee")
    if fee is not None:
        check_precision(fee, commerce.currency, ("$.ecommerce", "fee"), issues)
    return commerce, extras


def decode_koalect(payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
    if commands.is_clear(payload):  # {ecommerce: null}: GTM's clear, no event
        return None
    if type(payload) is not dict:
        issues.error(
            "$", "PAYLOAD_INVALID", f"expected a dataLayer object {{event, ...}}, got {describe(payload)}"
        )
        return None
    wire = payload.get("event", MISSING)
    if type(wire) is not str or not wire:
        issues.error(
            ("$", "event"), "VALUE_REQUIRED", f"expected the event name as a string, got {describe(wire)}"
        )
        return None
    name = s.TO_CANONICAL.get(wire, wire)
    values, unknown = s.ROOT.read({k: v for k, v in payload.items() if k not in _RESERVED}, "$", issues)
    properties = {**unknown, **values}
    root: dict[str, Any] = {}
    s.read_renamed(name, properties, root, issues)
    extras: dict[str, Any] = {}
    if root:
        extras["root"] = root
    if wire in s.TO_WIRE:  # a canonical name sent as such ("purchase"): written back as sent
        extras["$event"] = wire
    commerce = None
    ecom = payload.get("ecommerce")
    if type(ecom) is dict:
        commerce, ecom_extras = _read_ecommerce(ecom, ctx, issues)
        if ecom_extras:
            extras["ecommerce"] = ecom_extras
    elif ecom is not None:
        issues.error(
            ("$", "ecommerce"), "TYPE_INVALID", f"expected an ecommerce object, got {describe(ecom)}"
        )
    event = Event(name=name, dialect=s.DIALECT, commerce=commerce, properties=properties, extras=extras)
    event_id = payload.get("event_id")
    if event_id is not None:
        if type(event_id) is str and event_id:
            event.id = event_id
        else:
            issues.error(
                ("$", "event_id"), "TYPE_INVALID", f"expected event_id as a string, got {describe(event_id)}"
            )
    containers = (ecom if type(ecom) is dict else {}, payload)

    def present(key: str) -> bool:
        if key == "currency" and commerce is not None and commerce.currency is not None:
            return True
        return any(sent(c.get(key)) for c in containers)

    ga4.check_event_with(name, None, present, "$.ecommerce", "$", issues)
    s.check_procedure(name, wire, payload, values, issues)
    return event


def _write_commerce(event: Event, issues: Issues) -> dict[str, Any]:
    c = amounts.render(event, AMOUNTS, issues, dialect=s.DIALECT, carried=ga4.CARRIED, base="$.ecommerce")
    assert c is not None
    out = s.COMMERCE.write_attrs(c, ITEMS_APART)
    if c.items is not None:
        flat = ga4.flattens(event, s.DIALECT)
        out["items"] = [
            ga4.write_item(it, issues, f"$.ecommerce.items[{n}]", flatten=flat)
            for n, it in enumerate(c.items)
        ]
    for key in ("revenue", "discount", "status", "type"):
        v = getattr(c, key)
        if v is not None:
            issues.warning(
                f"commerce.{key}",
                "NOT_CARRIED",
                f"Koalect's ecommerce has no field for the order {key} ({v}); it is left out",
            )
    return out


def encode_koalect(event: Event, issues: Issues) -> dict[str, Any]:
    wire = event.extras.get("$event")
    if type(wire) is not str or s.TO_CANONICAL.get(wire, wire) != event.name:
        wire = s.TO_WIRE.get(event.name, event.name)
    out: dict[str, Any] = {"event": wire}
    kept = {k: v for k, v in event.extras.items() if k in _CONTAINERS and type(v) is dict}
    if event.commerce is not None or "ecommerce" in kept:
        ecom = _write_commerce(event, issues) if event.commerce is not None else {}
        merge_extras(ecom, kept.get("ecommerce", {}), "$.ecommerce", issues)
        ga4.check_currency(ecom, "$.ecommerce", issues)
        out["ecommerce"] = ecom
    renamed = {canonical: wire_key for wire_key, canonical in s.RENAMES.get(event.name, ())}
    params = {k: v for k, v in event.properties.items() if k not in renamed}
    for canonical, wire_key in renamed.items():
        if canonical in event.properties:
            out[wire_key] = event.properties[canonical]
    merge_extras(out, params, "$", issues)
    merge_extras(out, kept.get("root", {}), "$", issues)
    if event.id:
        merge_extras(out, {"event_id": event.id}, "$", issues)
    report_uncarried(event, frozenset(), s.DIALECT, issues)
    report_foreign_extras(event.extras, frozenset(kept), s.DIALECT, issues)
    return out


_EVENTS = (
    ("view_step", "view_step", "one per procedure step: step_index, step_name"),
    ("view_item_list", "view_item_list", "products listed in a procedure"),
    ("add_to_cart", "add_to_cart", "product chosen"),
    ("remove_from_cart", "remove_from_cart", "product dropped or its quantity lowered"),
    ("add_payment_info", "add_payment_info", "payment method chosen: ecommerce.payment_method"),
    ("checkout", "begin_checkout", "paid procedure submitted, before its last step"),
    ("transaction", "purchase", "procedure paid"),
    ("execution", "execution", "procedure completed, paid or free; execution_id"),
    ("project_created", "project_created", "project_id, project_slug, project_name, project_status"),
    ("project_member_joined", "project_member_joined", "invite_id, target_id, target_type"),
    ("project_deleted", "project_deleted", "project_id, project_slug, project_name, project_status"),
    ("view_update", "view_update", "update_id, target_type, target_id"),
    ("share", "share", "share_method is method; target_id, target_type"),
    ("search", "search", "search_term is required"),
    ("click_link", "click_link", "link_type, link_text, link_url, target_id, target_name, target_params"),
    ("register", "sign_up", "auth_method is method"),
    ("login", "login", "auth_method is method"),
)


class Koalect(SingleEventAdapter):
    name = s.DIALECT
    title = "Koalect dataLayer: donation procedures, projects and actions"
    detect_order = 60
    callees = frozenset({"dataLayer.push"})
    amounts = AMOUNTS
    events = tuple(EventDoc(w, c, d) for w, c, d in _EVENTS)

    def sniff(self, payload: Any) -> int:
        if type(payload) is not dict:
            return 0
        name = payload.get("event")
        if type(name) is not str:
            return 0
        if any(key in payload for key in s.PROCEDURE_KEYS) or not s.KOALECT_KEYS.isdisjoint(payload):
            return 90
        if name in s.KOALECT_ONLY or name.startswith("project_"):
            ecom = payload.get("ecommerce")
            return 10 if type(ecom) is dict and not s.UA_KEYS.isdisjoint(ecom) else 90
        return 40 if name in s.SHARED else 10

    def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
        return decode_koalect(payload, ctx, issues)

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        return encode_koalect(event, issues)

    def tables(self) -> list[Table]:
        return [s.ROOT, s.RENAMED, s.COMMERCE, s.ECOMMERCE_EXTRAS, ga4.ITEM]


__all__ = ["Koalect", "decode_koalect", "encode_koalect", "parse_consent_cookie"]
