"""``gtm-ua``: Google Tag Manager dataLayer objects with Universal Analytics enhanced ecommerce.

``{"event": "addToCart", "ecommerce": {"currencyCode": "EUR", "add": {"products": [...]}}}``.
Each action key of ``ecommerce`` is one event, named as GA4 names it: ``impressions`` is
``view_item_list``, ``detail`` ``view_item``, ``click`` ``select_item``, ``add``
``add_to_cart``, ``remove`` ``remove_from_cart``, ``checkout`` ``begin_checkout``,
``checkout_option`` ``set_checkout_option``, ``purchase``, ``refund`` (full without
products, partial with), ``promoView`` ``view_promotion``, ``promoClick``
``select_promotion``. An object with no action is a plain event named as sent (the
custom ``cartUpdated``), its other root keys in ``properties``; so are the other root
keys of an action. A root ``event_id`` is the client's id for the event.

Readings taken:

- **Amounts.** ``actionField.revenue`` is ``commerce.value`` (tax and shipping included);
  ``id`` is ``transaction_id``; ``tax``, ``shipping``, ``coupon``, ``affiliation`` keep
  their names. ``step``/``option`` are ``properties.checkout_step``/``checkout_option``,
  ``actionField.list`` is ``properties.item_list_name``. A value without a currency is
  a warning: UA applied the reporting view's currency; the property's
  ``default_currency``, when it has one, fills it (VALUE_FILLED), as the view's did.
- **Promotions** are ``properties.promotions``: dicts with GA4's names
  (``promotion_id``, ``promotion_name``, ``creative_name``, ``creative_slot``).
- **Unknown keys.** Those of the action object ride in ``extras["ecommerce"]``, those
  of its ``actionField`` in ``extras["ecommerce"]["actionField"]`` (2Checkout's
  ``purchaseFlow``, ``orderDiscountCoupon``), so they go back where they came from and
  land where 2Checkout's GA4 layout has them; unknown keys of ``ecommerce`` itself ride
  in ``extras["ua_ecommerce"]``.
- **2Checkout.** ``currencyCode`` is read at ``ecommerce``, else inside the action
  (``purchase``), else at the root (``addToCart``); the place is kept in
  ``extras["$currency"]`` and encode writes ``ecommerce.currencyCode`` otherwise.
  ``add``/``remove`` may carry the order ``coupon`` beside their products. Encode
  options: ``checkout_step`` writes the step of a checkout that has none,
  ``order_discount_coupon`` the ``orderDiscountCoupon`` of an order coupon that has none
  (both VALUE_FILLED warnings).
- **event.** A dataLayer ``event`` that is not the action's usual one (``productClick``,
  ``addToCart``, ``removeFromCart``, ``checkout``, ``checkoutOption``, ``purchase``,
  ``promotionClick``; none for impressions, detail, refund and promoView) is kept in
  ``extras["$event"]``. An object with several actions (impressions beside a detail) gives
  one event per action; encoding them together renders one object again.
- **Rules.** purchase and refund need ``actionField.id``; ``actionField.step`` is
  optional on checkout (Google's actionFieldObject: "optional on checkout actions";
  2Checkout always sends 1); every product needs ``id`` or ``name``; detail, click, add
  and remove need products, promoView and promoClick promotions; ``currencyCode`` is
  ISO 4217.
- **The clear.** ``{ecommerce: null}``, which Google's guide pushes before each
  ecommerce push, is no event: it decodes to no event and no issue (see ``commands``).
"""

from __future__ import annotations

from typing import Any, cast

from trackway.dialects.base import Adapter, DecodeContext, EncodeOptions, EventDoc
from trackway.dialects.fields import Table
from trackway.issues import Issues, Path, describe
from trackway.model import Commerce, Event
from trackway.rules.codes import currency
from trackway.rules.values import INVALID
from trackway.vendors.ga4 import commands
from trackway.vendors.ua import common as ua
from trackway.vendors.ua.actions import ACTION_FIELD, ACTIONS, BY_KEY, BY_NAME, DIRECT, Action, read_action
from trackway.vendors.ua.write import UA_DIALECTS, encode_ua

_ROOT_RESERVED = frozenset({"event", "ecommerce", "event_id"})
ACTION_KEYS = frozenset(BY_KEY)


def decode_ua(payload: Any, dialect: str, issues: Issues) -> list[Event]:
    """The events of one UA dataLayer object (gtm-ua and adobe-dtm)."""
    if commands.is_clear(payload):  # {ecommerce: null}: the clear, no event
        return []
    issues.event = 0
    if type(payload) is not dict:
        issues.error(
            "$",
            "PAYLOAD_INVALID",
            f"expected a dataLayer object {{event, ecommerce}}, got {describe(payload)}",
        )
        return []
    name = payload.get("event")
    if "event" in payload and (type(name) is not str or not name):
        issues.error(
            ("$", "event"), "TYPE_INVALID", f"expected the event name as a string, got {describe(name)}"
        )
    ecom = payload.get("ecommerce")
    actions = (
        [BY_KEY[k] for k, v in ecom.items() if k in BY_KEY and v is not None] if type(ecom) is dict else []
    )
    if not actions:
        event = _plain(payload, name, ecom, dialect, issues)
        return [] if event is None else [event]
    ecom = cast(dict[str, Any], ecom)  # actions come from it: a dict
    primary = next((a for a in actions if a.event is not None and a.event == name), actions[0])
    ordered = [primary, *(a for a in actions if a is not primary)]
    root = {k: v for k, v in payload.items() if k not in _ROOT_RESERVED}
    events = []
    for n, action in enumerate(ordered):
        issues.event = n
        events.append(_action_event(action, payload, ecom, root if n == 0 else None, dialect, issues))
    return events  # the adapter's decode sets issues.event back to -1


def _action_event(
    action: Action,
    payload: dict[str, Any],
    ecom: dict[str, Any],
    root: dict[str, Any] | None,
    dialect: str,
    issues: Issues,
) -> Event:
    """One action's event; ``root`` (the root keys) is given for the first event only."""
    path = f"$.ecommerce.{action.key}"
    r = read_action(action, ecom[action.key], path, frozenset(root or ()), issues)
    extras: dict[str, Any] = {}
    place = None
    if ecom.get("currencyCode") is not None:
        code, code_path = ecom["currencyCode"], "$.ecommerce.currencyCode"
    elif r.currency is not None:
        code, code_path, place = r.currency, f"{path}.currencyCode", "action"
        del r.extras["currencyCode"]
    else:
        code, code_path = payload.get("currencyCode"), "$.currencyCode"
        place = "root" if code is not None else None
    if place:
        extras["$currency"] = place
    if r.extras:
        extras["ecommerce"] = r.extras
    commerce = Commerce(items=r.items, **r.commerce)
    if code is not None:
        value = currency(code, code_path, issues)
        if value is not INVALID:
            commerce.currency = value
    af_path = f"{path}.actionField"
    amounts: dict[str, Path] = {
        "value": f"{af_path}.revenue",
        "tax": f"{af_path}.tax",
        "shipping": f"{af_path}.shipping",
    }
    currency_path = code_path if code is not None else "$.ecommerce.currencyCode"
    ua.check_money(commerce, currency_path, amounts, issues, currency_sent=code is not None)
    event = Event(
        name=action.name, dialect=dialect, commerce=commerce, properties=r.properties, extras=extras
    )
    if root is None:
        extras["$with"] = True  # rendered into the object of the event before it
        return event
    props = {k: v for k, v in root.items() if not (k == "currencyCode" and place == "root")}
    props.update(r.properties)
    event.properties = props
    if "event" in payload:
        if payload["event"] != action.event:
            extras["$event"] = payload["event"]
    elif action.event is not None:
        extras["$event"] = None
    rest = {k: v for k, v in ecom.items() if (k not in ACTION_KEYS or v is None)}
    if rest.get("currencyCode") is not None:
        del rest["currencyCode"]
    if rest:
        extras["ua_ecommerce"] = rest
    _event_id(payload, event, issues)
    return event


def _plain(payload: dict[str, Any], name: Any, ecom: Any, dialect: str, issues: Issues) -> Event | None:
    """An object with no ecommerce action: a custom event named as sent."""
    if type(name) is not str or not name:
        if "event" not in payload:
            issues.error(
                ("$", "event"),
                "VALUE_REQUIRED",
                "expected an event name or an ecommerce action (impressions, detail, click, add, remove, "
                "checkout, checkout_option, purchase, refund, promoView, promoClick), got neither",
            )
        return None
    properties = {k: v for k, v in payload.items() if k not in _ROOT_RESERVED}
    extras: dict[str, Any] = {}
    commerce = None
    if type(ecom) is dict:
        commerce = Commerce()
        rest = dict(ecom)
        if rest.get("currencyCode") is not None:
            value = currency(rest.pop("currencyCode"), "$.ecommerce.currencyCode", issues)
            if value is not INVALID:
                commerce.currency = value
        if rest:
            extras["ua_ecommerce"] = rest
        if name in BY_NAME or name == "select_content":
            extras["$action"] = None  # named like an action, but sent without one
    elif ecom is None:
        if "ecommerce" in payload:
            properties["ecommerce"] = None
    else:
        issues.error(
            ("$", "ecommerce"), "TYPE_INVALID", f"expected an ecommerce object {{...}}, got {describe(ecom)}"
        )
    event = Event(name=name, dialect=dialect, commerce=commerce, properties=properties, extras=extras)
    _event_id(payload, event, issues)
    return event


def _event_id(payload: dict[str, Any], event: Event, issues: Issues) -> None:
    event_id = payload.get("event_id")
    if event_id is None:
        return
    if type(event_id) is str and event_id:
        event.id = event_id
    else:
        issues.error(
            ("$", "event_id"), "TYPE_INVALID", f"expected event_id as a string, got {describe(event_id)}"
        )


def _merge_push(prev: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Put the ecommerce of ``payload`` into ``prev`` when nothing clashes (False: it cannot)."""
    ecom, into = payload.get("ecommerce"), prev.get("ecommerce")
    if type(ecom) is not dict or type(into) is not dict:
        return False
    if any(k in into and into[k] != v for k, v in ecom.items()):
        return False
    into.update(ecom)
    return True


class GtmUa(Adapter):
    name = "gtm-ua"
    title = "Google Tag Manager dataLayer, Universal Analytics enhanced ecommerce"
    detect_order = 40
    callees = frozenset({"dataLayer.push"})
    amounts = ua.DATALAYER_AMOUNTS
    events = (
        *(
            EventDoc(
                f"ecommerce.{a.key}",
                a.name,
                f"pushed with event {a.event!r}" if a.event else "pushed without an event",
            )
            for a in ACTIONS
        ),
        EventDoc(
            "(no action)", "(as sent)", "a custom event (cartUpdated): the other root keys are properties"
        ),
    )

    def sniff(self, payload: Any) -> int:
        if commands.is_clear(payload):
            return 35
        if type(payload) is not dict:
            return 0
        ecom = payload.get("ecommerce")
        event = payload.get("event")
        if type(ecom) is dict:
            if "currencyCode" in ecom or not ACTION_KEYS.isdisjoint(ecom):
                return 80
            if "items" in ecom or "currency" in ecom or "value" in ecom:
                return 10
            return 40 if type(event) is str else 0
        if type(event) is not str:
            return 0
        if "currencyCode" in payload:
            return 60
        # UA-era custom events are camelCase (cartUpdated); snake_case names read as GA4's.
        return 55 if "_" not in event and event != event.lower() else 45

    def decode(self, payload: Any, ctx: DecodeContext, issues: Issues) -> list[Event]:
        events = decode_ua(payload, self.name, issues)
        ua.fill_currency(events, ctx.default_currency, "$.ecommerce.currencyCode", issues)
        return events

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        return encode_ua(event, options, self.name, issues)

    def encode_many(self, events: list[Event], options: EncodeOptions, issues: Issues) -> list[Any]:
        """Events decoded from one object with several actions are rendered into one object again."""
        out: list[Any] = []
        for n, event in enumerate(events):
            issues.event = n
            payload = self.encode(event, options, issues)
            together = event.extras.get("$with") and event.dialect in UA_DIALECTS
            if together and out and type(out[-1]) is dict and _merge_push(out[-1], payload):
                continue
            out.append(payload)
        issues.event = -1
        return out

    def tables(self) -> list[Table]:
        return [ACTION_FIELD, DIRECT, ua.PRODUCT, ua.PROMOTION]
