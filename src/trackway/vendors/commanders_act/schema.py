"""Commanders Act vocabulary: the field tables, the enumerations and the rules of each event.

The tables decode, encode and document (``docs/dialects/commanders-act.md``) the
same mapping. Each :class:`CaRule` transcribes the "Required" column of an event's
table in the events reference: "Yes" is an error when missing, "Yes*", "No*" and
"typically required" are warnings.
"""

from __future__ import annotations

from typing import NamedTuple

from trackway import amounts
from trackway.dialects.fields import Field, Table, fast_values
from trackway.rules.codes import country, currency
from trackway.rules.identity import birthdate, email, gender, phone
from trackway.rules.values import (
    amount,
    anything,
    array,
    enum,
    ident,
    integer,
    obj,
    quantity,
    string,
    strings,
)

DIALECT = "commanders-act"

PAYMENT_METHODS = (
    "by_invoice",
    "by_bank_transfer_in_advance",
    "card",
    "check_in_advance",
    "cod",
    "coupon",
    "direct_debit",
    "online_payment_system",
    "other",
)
STATUSES = (
    "canceled",
    "delivered",
    "in_progress",
    "partially_delivered",
    "partially_returned",
    "partially_shipped",
    "pending_shipment",
    "returned",
    "shipped",
    "pending",
)
PAGE_TYPES = (
    "home",
    "landing",
    "product_list",
    "product",
    "content_list",
    "content",
    "search",
    "funnel",
    "success",
    "funnel_confirmation",
    "account",
    "cart",
    "legal",
)

# An enumeration's rule returns its values unchanged: the tables' readers check them inline.
payment_method = fast_values(
    enum(PAYMENT_METHODS, "Commanders Act payment method"), frozenset(PAYMENT_METHODS)
)
purchase_status = fast_values(enum(STATUSES, "Commanders Act purchase status"), frozenset(STATUSES))

# Events whose root ``id`` is the transaction id; elsewhere ``id`` stays a property
# (generate_lead: the lead id).
TRANSACTION_EVENTS = frozenset({"purchase", "refund", "begin_checkout"})

COMMERCE = Table(
    "Commanders Act commerce parameters",
    [
        Field("currency", "currency", currency, "required when value or revenue is set"),
        Field("value", "value", amount, "tax and shipping included, after discount"),
        Field("revenue", "revenue", amount, "tax and shipping excluded, after discount"),
        Field("shipping_amount", "shipping", amount),
        Field("tax_amount", "tax", amount),
        Field("coupon", "coupon", string),
        Field("payment_method", "payment_method", payment_method),
        Field("status", "status", purchase_status),
        Field("type", "type", string, "type of conversion: online, offline, call, ..."),
        Field("shipping_tier", "shipping_tier", string),
        Field("items", "items", array, "see the item and product tables"),
    ],
)

# Documented event parameters that stay in ``properties`` under their own name;
# the table checks their types. ``id`` is the transaction id on TRANSACTION_EVENTS.
PARAMS = Table(
    "Commanders Act event parameters",
    [
        Field("id", "id", ident, "commerce.transaction_id on purchase, refund, begin_checkout; else kept"),
        Field("page_type", "page_type", string, "page_view; values outside the recommended list: warning"),
        Field("page_name", "page_name", string),
        Field("search_term", "search_term", string),
        Field("method", "method", string, "login, sign_up"),
        Field("content_type", "content_type", string),
        Field("item_id", "item_id", ident, "select_content"),
        Field("item_list_name", "item_list_name", string),
        Field("title", "title", string, "added by the cact SDK on web sources"),
        Field("url", "url", string, "added by the cact SDK on web sources"),
        Field("path", "path", string, "added by the cact SDK on web sources"),
        Field("referrer", "referrer", string, "added by the cact SDK on web sources"),
    ],
)

ITEM = Table(
    "Commanders Act item",
    [
        Field("id", "item_id", ident, "required"),
        Field("quantity", "quantity", quantity, "required"),
        Field("product", "product", obj, "required; see the product table"),
        Field("variant", "variant", string),
        Field("list_position", "index", integer, "as sent (no arithmetic)"),
        Field("discount", "discount", amount, "discount for one unit"),
        Field("affiliation", "affiliation", string, "No*: most affiliation destinations need it"),
        Field("coupon", "coupon", string),
    ],
)

PRODUCT = Table(
    "Commanders Act product (inside an item)",
    [
        Field("id", "product_id", ident, "Yes*: recommended"),
        Field("name", "item_name", string, "required"),
        Field("price", "price", amount, "required; list price: canonical price = product.price - discount"),
        Field("currency", "currency", currency),
        Field("brand", "brand", string),
        Field("category_1", "categories.0", string, "category_6 and beyond continue the list"),
        Field("category_2", "categories.1", string),
        Field("category_3", "categories.2", string),
        Field("category_4", "categories.3", string),
        Field("category_5", "categories.4", string),
    ],
)

# Documented product fields with no canonical home: checked with their type, kept as sent
# in Item.extras["product"] (so they go back into the product).
PRODUCT_KEPT = Table(
    "Commanders Act product fields kept as sent (checked, in Item.extras['product'])",
    [
        Field("colors", "colors", strings, "Array[string], such as ['blue', 'white']"),
        Field("size", "size", string, "a string, such as '128'"),
    ],
)

USER = Table(
    "Commanders Act user",
    [
        Field("id", "user_id", ident, "Event.user_id"),
        Field("consistent_anonymous_id", "anonymous_id", ident, "Event.anonymous_id"),
        Field("consent_categories", "consent.categories", array, "Event.consent.categories, as strings"),
        Field("email", "email", email, "user traits from here on"),
        Field("phone", "phone", phone, "E.164"),
        Field("firstname", "first_name", string),
        Field("lastname", "last_name", string),
        Field("gender", "gender", gender),
        Field("birthdate", "birthdate", birthdate, "YYYY-MM-DD"),
        Field("city", "city", string),
        Field("state", "state", string),
        Field("street", "street", string),
        Field("zipcode", "zipcode", string),
        Field("country", "country", country, "ISO 3166-1 alpha-2 or alpha-3"),
    ],
)

# Trait names that differ between the wire and the canonical user (hashed forms follow).
TRAIT_NAMES = {"firstname": "first_name", "lastname": "last_name"}
WIRE_TRAIT_NAMES = {v: k for k, v in TRAIT_NAMES.items()}

CONTEXT = Table(
    "Commanders Act server context",
    [
        Field("event_id", "id", ident, "Event.id; required in the server form"),
        Field("event_timestamp", "timestamp", integer, "Event.timestamp, ms since the epoch; required"),
        Field("page", "page", obj, "see the page table"),
        Field("device", "device", obj, "see the device table"),
    ],
)

PAGE = Table(
    "Commanders Act context.page",
    [
        Field("url", "page.url", string),
        Field("title", "page.title", string),
        Field("referrer", "page.referrer", string),
        Field("lang", "page.lang", string),
        Field("viewport", "page.viewport", obj, "{width, height}"),
    ],
)

DEVICE = Table(
    "Commanders Act context.device",
    [
        Field("user_agent", "user_agent", string),
        Field("ip", "ip", string),
        Field("lang", "locale", string),
        Field("cookie", "cookie", anything),
        Field("timezone", "timezone", anything),
    ],
)


class CaRule(NamedTuple):
    """The "Required" column of one event's table."""

    required: tuple[str, ...] = ()  # "Yes": VALUE_REQUIRED error
    recommended: tuple[str, ...] = ()  # "Yes*", "No*", "typically required": RECOMMENDED_MISSING
    items: str = "none"  # "required", "optional", "none"
    user: bool = True  # the table lists ``user`` as required
    # Marked "Yes" but left out by the document's own (call form) example: a warning
    # in the call form, an error in the server form.
    call_recommended: tuple[str, ...] = ()
    summary: str = ""


_CART = CaRule(recommended=("value", "currency"), items="required")
EVENTS: dict[str, CaRule] = {
    "add_payment_info": CaRule(required=("payment_method",), recommended=("revenue",), items="optional"),
    "add_shipping_info": CaRule(required=("currency", "value"), items="required"),
    "add_to_cart": _CART,
    "add_to_wishlist": CaRule(recommended=("value",), items="required"),
    "begin_checkout": CaRule(
        required=("revenue", "value", "currency"), items="required", summary="id: transaction_id"
    ),
    "generate_lead": CaRule(recommended=("value", "currency"), summary="id: the lead id (property)"),
    "login": CaRule(),
    "page_view": CaRule(required=("page_type",)),
    "purchase": CaRule(
        required=("id", "type", "status", "payment_method", "revenue", "value", "currency"),
        items="required",
        call_recommended=("type", "status", "payment_method"),
        summary="id: transaction_id; type, status, payment_method: warnings in the call form",
    ),
    "refund": CaRule(
        required=("id", "revenue", "value", "currency", "type"),
        items="optional",
        call_recommended=("type",),
        summary="no items: a full refund; items: a partial one",
    ),
    "remove_from_cart": CaRule(recommended=("value",), items="required"),
    "search": CaRule(required=("search_term",)),
    "select_content": CaRule(),
    "select_item": CaRule(items="required", user=False),
    "sign_up": CaRule(),
    "view_cart": CaRule(recommended=("value",), items="required"),
    "view_item": CaRule(recommended=("revenue", "currency"), items="required"),
    "view_item_list": CaRule(items="required"),
}

# What Commanders Act's amounts mean: on an order event, value is the total (tax and shipping
# included, after discount) and revenue is after discount, tax and shipping excluded.
AMOUNTS = amounts.Meaning(
    "Commanders Act",
    amounts.TOTAL_VALUE,
    {"value": "value", "revenue": "revenue", "tax": "tax_amount", "shipping": "shipping_amount"},
    {
        name: frozenset(k for k in rule.required if k in ("value", "revenue"))
        for name, rule in EVENTS.items()
        if "value" in rule.required or "revenue" in rule.required
    },
)

# GA4 events with no Commanders Act counterpart: rendered as custom events of the same name.
NO_COUNTERPART = frozenset({"view_promotion", "select_promotion", "share"})
