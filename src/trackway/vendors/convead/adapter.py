"""``convead`` and ``insend``: Convead's event API (InSend is the same API under its own name).

Forms, both decoded: the JS call ``convead('event', type, properties, visitor_info)`` as
``["event", type, {...}, {...}]`` (``visitor_info`` optional), and the ``POST /watch/event``
body ``{app_key, visitor_uid, guest_uid, data}`` (form-encoded: every value a string), whose
``data`` is a JSON string of ``{type, properties, visitor_info, url, domain, host, path,
title, referrer, ...}`` (read with exact decimals; an object is accepted too).
``extras["$form"]`` records the form; encode uses ``EncodeOptions.form``, else that, else
``post``. Same-dialect round trips are exact: an empty ``visitor_info`` ``{}``, a call with no
properties, the ``data`` copies of the request fields and ``data`` sent as an object come back
as sent; unknown keys ride in ``extras`` (``request``, ``data``, ``visitor_info``), in
``properties`` (unknown properties) or in ``Item.extras`` (unknown item keys).

Mapping: ``visitor_uid`` is ``user_id`` and ``guest_uid`` ``anonymous_id`` (``''`` is no id;
an event with both links the guest to the registered visitor); ``visitor_info`` gives the
user traits (``date_of_birth`` is ``birthdate``; ``custom_field_N`` and other keys are traits
as sent); ``url``, ``path``, ``title``, ``referrer``, ``domain`` and ``host`` are
``context.page``. ``app_key`` is a credential: it is kept only as wire metadata
(``extras["$app_key"]``), never in user, context or properties. ``view_product`` is
``view_item``; the other types keep their names. ``view_product``, ``add_to_cart`` and
``remove_from_cart`` carry one product, flat in the properties: ``commerce.items[0]``.
``purchase``: ``order_id`` is ``transaction_id``, ``revenue`` (the full order cost) is
``commerce.value``, ``state`` (order updates) is ``commerce.status``. ``update_cart`` is the
whole cart: ``items: []`` is a cleared cart and stays ``[]``. ``custom`` (``key``), ``file``
(``file_url``, ``file_title``), ``link`` (``key_page_id``) and ``mailto`` (``email``, the
address clicked, not the visitor's) keep their properties as ``properties``.

Readings taken where the document is silent:

- **Types.** Convead accepts its ten types only: another type is an ENUM_INVALID error (the
  event is kept as rejected, under the name sent); other events go as ``custom`` with a key.
- **Currency.** Convead sends none. When amounts are present the property's
  ``default_currency`` fills ``commerce.currency`` (``currency_filled``, a VALUE_FILLED
  warning); with no default it is a RECOMMENDED_MISSING warning, never an error and never
  USD. Encode never writes a currency: a filled one is dropped silently, a sent one is
  NOT_CARRIED.
- **Required.** The four request fields (``''`` is fine for the unknown uid, but not for
  both, nor for ``app_key``); the type; ``product_id`` on product events and in each item;
  ``qnt`` on ``add_to_cart``; ``order_id`` and ``revenue`` on ``purchase``; ``items`` on
  ``update_cart``; ``key`` on ``custom``. Recommended (warnings): ``price`` on
  ``add_to_cart``, ``qnt`` on ``remove_from_cart``, ``qnt`` and ``price`` in items,
  ``file_url`` on ``file``, ``email`` on ``mailto``, ``visitor_info`` on ``update_info``.
- **Values.** Amounts are decimals (numeric strings: NUMBER_AS_STRING warning), ``qnt`` a
  whole number, ids strings or whole numbers. ``email`` and ``date_of_birth``
  (``YYYY-MM-DD``) are errors when malformed; a ``phone`` not in E.164 is only a warning
  (the document's own example sends ``'555555'``); a ``visitor_uid`` outside ``[0-9a-z-]``
  is a warning. Untidy but clear values are normalised with a VALUE_NORMALISED warning
  and the event kept (an email with spaces around it or an upper-case domain, a phone
  ``+7 912 345-67-89``; see ``trackway.rules.identity``): an ``update_info`` that links a
  guest to a registered visitor is not lost to a stray space. ``category_id`` is an id,
  not a category name: it stays in the item's extras. ``product_price`` is read as
  ``price`` when ``price`` is absent. A ``data`` copy of a request field that differs
  from the request's is a warning; the request's wins.
- **Encode.** ``view_item`` is ``view_product``, ``page_view`` is ``link`` and ``view_cart``
  is ``update_cart`` (the cart's full contents); other names without a Convead type are
  ``custom`` events with ``key`` = the name (UNKNOWN_EVENT warning). Product events carry
  one product: the first item is rendered and each other item is NOT_CARRIED. User
  traits with no Convead field (``city``, ...) go into ``visitor_info`` under their own
  names, as Convead's own extra keys come out; hashed traits are NOT_CARRIED. Tax,
  shipping, coupons, item brands and categories, consent, and in the call form the
  identity and page, are NOT_CARRIED warnings. The rendered payload is checked with the
  decoder: what Convead would reject (no ``product_id``, no uid, no ``app_key``) is a
  warning, and the missing value is left out, never invented.
"""

from __future__ import annotations

from typing import Any

from trackway.dialects.base import DecodeContext, EncodeOptions, EventDoc, SingleEventAdapter
from trackway.dialects.fields import Table
from trackway.issues import Issues, article, describe
from trackway.model import Event
from trackway.vendors.convead import schema as s
from trackway.vendors.convead.read import call, decode_call, read_data
from trackway.vendors.convead.write import encode_event


def _check_copies(data_values: dict[str, Any], root: dict[str, Any], issues: Issues) -> list[str]:
    """The request fields ``data`` repeats; a copy that differs from the request's is a warning."""
    carried = []
    for key, target in zip(s.REQUEST_KEYS, ("extras." + s.APP_KEY, "user_id", "anonymous_id"), strict=True):
        if f"data.{key}" not in data_values:
            continue
        carried.append(key)
        copy, sent = data_values[f"data.{key}"], root.get(target)
        if sent is not None and copy != sent:
            shown = "" if key == "app_key" else f" ({sent!r}), got {describe(copy)}"
            issues.warning(
                ("$.data", key),
                "VALUE_INVALID",
                f"expected data.{key} to be the request's {key}{shown}; the request's is used. "
                f"Send the same {key} in both or leave it out of data",
            )
    return carried


def decode_post(payload: dict[str, Any], dialect: str, ctx: DecodeContext, issues: Issues) -> Event | None:
    """``{app_key, visitor_uid, guest_uid, data}``, ``data`` a JSON string of the event object."""
    values, rest = s.REQUEST.read(payload, "$", issues)
    for key in (*s.REQUEST_KEYS, "data"):
        if payload.get(key) is None:
            hint = "; send '' for the uid you do not know" if key.endswith("_uid") else ""
            issues.error(
                ("$", key),
                "VALUE_REQUIRED",
                f"expected the request field {key!r} (all four are mandatory), got "
                f"{'none' if key not in payload else 'null'}{hint}",
            )
    if payload.get("app_key") == "":
        issues.error(("$", "app_key"), "VALUE_REQUIRED", "expected the account's app_key, got ''; add it")
    uids = [payload.get(k) for k in ("visitor_uid", "guest_uid")]
    if all(u is None or u == "" for u in uids) and any(u == "" for u in uids):
        issues.error(
            ("$", "guest_uid"),
            "VALUE_REQUIRED",
            "expected guest_uid (the convead_guest_uid cookie) or visitor_uid (the registered visitor's id), "
            "got neither; send at least one of them, the other as ''",
        )
    data = values.get("data")
    if data is None:
        return None
    event, data_values = read_data(data, dialect, ctx, issues)
    if event is None:
        return None
    event.user_id = values.get("user_id") or None
    event.anonymous_id = values.get("anonymous_id") or None
    extras: dict[str, Any] = {"$form": "post"}
    if "app_key" in payload:
        extras[s.APP_KEY] = payload["app_key"]
    carried = _check_copies(data_values, values, issues)
    if carried:
        extras["$data_keys"] = carried
    if type(payload["data"]) is dict:
        extras["$data_object"] = True
    request = {k: v for k, v in rest.items() if k not in s.REQUEST.by_wire}
    if request:
        extras["request"] = request
    event.extras.update(extras)
    return event


def check_rendered(out: Any, issues: Issues, dialect: str = s.DIALECT) -> None:
    """What Convead (or InSend) would reject in a rendered payload, as warnings."""
    scratch = Issues()
    if type(out) is list:
        decode_call(out, dialect, DecodeContext(), scratch)
    else:
        decode_post(out, dialect, DecodeContext(), scratch)
    for issue in scratch.items:
        if issue.is_error:
            issues.warning(
                issue.path,
                issue.code,
                f"{s.vendor(dialect)} would reject the rendered payload: {issue.message}",
            )


class Convead(SingleEventAdapter):
    name = "convead"
    title = "Convead: convead() calls and POST /watch/event"
    detect_order = 80
    callees = frozenset({"convead"})
    amounts = s.AMOUNTS
    events = tuple(EventDoc(t, s.TO_CANONICAL.get(t, t), s.RULES[t].summary) for t in s.TYPES)

    def sniff(self, payload: Any) -> int:
        t = type(payload)
        if t is dict:  # the POST body; without data it is still Convead's (data is reported missing)
            if not any(k in payload for k in s.REQUEST_KEYS):
                return 0
            return 95 if "data" in payload else 70
        if t is not list or not 2 <= len(payload) <= 4 or payload[0] != "event":
            return 0
        if type(payload[1]) is not str:
            return 0
        if len(payload) == 4 or payload[1] in s.CONVEAD_ONLY:
            return 95
        props = payload[2] if len(payload) > 2 else None
        if type(props) is dict and not s.CONVEAD_KEYS.isdisjoint(props):
            return 92
        return 20

    def decode_event(self, payload: Any, ctx: DecodeContext, issues: Issues) -> Event | None:
        if type(payload) is list:
            return decode_call(payload, self.name, ctx, issues)
        if type(payload) is dict:
            return decode_post(payload, self.name, ctx, issues)
        issues.error(
            "$",
            "PAYLOAD_INVALID",
            f"expected {article(call(self.name))} call ['event', type, {{properties}}, {{visitor_info}}] "
            "or a POST /watch/event body {app_key, visitor_uid, guest_uid, data}, "
            f"got {describe(payload)}",
        )
        return None

    def form(self, event: Event, options: EncodeOptions, issues: Issues) -> str:
        if options.form in s.FORMS:
            return options.form
        if options.form is not None:
            issues.warning(
                "form",
                "VALUE_INVALID",
                f"expected the Convead form 'call' or 'post', got {options.form!r}; "
                "the event's own form is used",
            )
        source = event.extras.get("$form")
        return source if event.dialect in s.DIALECTS and source in s.FORMS else "post"

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        out = encode_event(event, self.form(event, options, issues), issues)
        check_rendered(out, issues, self.name)
        return out

    def tables(self) -> list[Table]:
        return [s.REQUEST, s.DATA, s.ITEM, s.ORDER, s.CART, s.PROPS, s.VISITOR]


class Insend(Convead):
    name = "insend"
    title = "InSend: insend() calls and POST /watch/event (Convead's API)"
    detect_order = 90
    alias_of = "convead"
    callees = frozenset({"insend"})
    amounts = s.AMOUNTS._replace(vendor="InSend")  # the same meaning, under the name messages give
