"""``gtag-ga4``: gtag.js commands ``["event", name, params]`` sent to a GA4 property.

The parameters are flat: GA4's commerce parameters (``currency``, ``value``,
``transaction_id``, ``tax``, ``shipping``, ``coupon``, ``payment_type``,
``shipping_tier``, ``affiliation``, ``items``) go to ``commerce``; every other
parameter (``item_list_id``, ``search_term``, ``method``, ``event_label``, ...)
is a ``property`` under its GA4 name. Items are GA4 items (``item_id``,
``item_name``, ``item_category``, ...); keys GA4 does not list (2Checkout's
``group``, ``tax``, ``format``, ``category``) ride in the item's extras.

Rules are GA4's recommended-event rules, as for ``gtm-ga4``: ``purchase`` and
``refund`` need ``transaction_id``, ``search`` needs ``search_term``, commerce
events need ``items`` with ``item_id`` or ``item_name`` on each item, and a
``value`` needs a ``currency``.

Readings taken:

- **Commands other than ``event``** (``config``, ``set``, ``consent``, ``js``, ``get``)
  carry no event: a well-formed one decodes to no event and no issue (a non-event,
  valid), a malformed one is an error (see ``commands``). The collector's batch
  endpoint reads ``consent`` commands itself (they set the consent of the events after
  them).
- **``["event", name]``** with no parameters is a valid command; it round-trips
  without a parameters object.
- **GTM's ``ecommerce`` extras** (2Checkout's ``actionField`` inside ``ecommerce``)
  have no separate container in gtag: they are rendered as parameters beside the
  others, since gtag has one flat parameter namespace.
"""

from __future__ import annotations

from typing import Any

from trackway.dialects.base import (
    DecodeContext,
    EncodeOptions,
    EventDoc,
    SingleEventAdapter,
    report_foreign_extras,
    report_uncarried,
)
from trackway.dialects.fields import Table
from trackway.issues import MISSING, Issues
from trackway.model import Event
from trackway.vendors.ga4 import commands
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.ua import common as ua

_BASE = "$[2]"
_SCORES = {None: 0, "bare": 60, "ga4": 90, "ua": 10, "": 60}  # the sniff, by commands.lean


def decode_gtag_ga4(payload: Any, dialect: str, issues: Issues) -> Event | None:
    opened = commands.open_event(payload, dialect, issues)
    if opened is None:
        return None
    event, params = opened
    if params is MISSING:
        event.extras = {"$bare": True}
        ga4.check_event(event.name, None, [(_BASE, {})], issues)
        return event
    if params is None:
        return event
    commerce, rest = ga4.read_commerce(params, _BASE, issues)
    event.commerce = commerce
    event.properties = rest
    ga4.check_event(event.name, commerce, [(_BASE, params)], issues)
    return event


def encode_gtag_ga4(event: Event, target: str, issues: Issues) -> list[Any]:
    params: dict[str, Any] = {}
    if event.commerce is not None:
        params = ga4.write_event_commerce(event, target, issues, _BASE) or {}
        ga4.check_currency(params, _BASE, issues)
    ua.put_params(params, event.properties, _BASE, issues)
    ecommerce_extras = event.extras.get("ecommerce")
    if type(ecommerce_extras) is dict:  # gtm-ga4's unknown ecommerce keys: gtag has one namespace
        ua.put_params(params, ecommerce_extras, _BASE, issues)
    report_uncarried(event, frozenset(), target, issues)
    report_foreign_extras(event.extras, frozenset({"ecommerce"}), target, issues)
    if not params and event.dialect == target and event.extras.get("$bare"):
        return ["event", event.name]
    return ["event", event.name, params]


class GtagGa4(SingleEventAdapter):
    name = "gtag-ga4"
    title = "gtag.js with a GA4 property"
    detect_order = 10
    callees = frozenset({"gtag"})
    amounts = ga4.AMOUNTS
    events = (
        *(EventDoc(n, n) for n in ga4.EVENTS),
        EventDoc("page_redirect", "page_redirect", "2Checkout's retry page (a custom event)"),
    )

    def sniff(self, payload: Any) -> int:
        if type(payload) is not list:  # the common case under auto-detection: no call at all
            return 0
        if commands.is_command(payload):
            return commands.sniff(payload, "G-", "UA-", 60)
        return _SCORES[commands.lean(payload)]

    def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
        return decode_gtag_ga4(payload, self.name, issues)

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        return encode_gtag_ga4(event, self.name, issues)

    def tables(self) -> list[Table]:
        return [ga4.COMMERCE, ga4.ITEM]
