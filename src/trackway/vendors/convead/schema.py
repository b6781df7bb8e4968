"""Convead's (and InSend's) vocabulary: event types, field tables and the rules of each type.

Used by :mod:`trackway.vendors.convead.adapter`. The same tables decode, encode and document
(``docs/dialects/convead.md``) the mapping.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec

from trackway import amounts
from trackway.dialects.fields import Field, Table
from trackway.issues import Issues, Path, describe
from trackway.rules.identity import birthdate, email, phone_lenient
from trackway.rules.values import INVALID, amount, anything, array, ident, obj, quantity, string

DIALECT = "convead"
DIALECTS = frozenset({"convead", "insend"})  # InSend is Convead's wire format under another name
VENDORS = {"convead": "Convead", "insend": "InSend"}  # the name messages give each


def vendor(dialect: str) -> str:
    """The vendor's name for messages: InSend's payloads are not described as Convead's."""
    return VENDORS.get(dialect, "Convead")


FORMS = ("call", "post")

# The documented types, in the document's order of importance.
TYPES = (
    "view_product",
    "add_to_cart",
    "remove_from_cart",
    "update_cart",
    "purchase",
    "update_info",
    "custom",
    "file",
    "link",
    "mailto",
)
TO_CANONICAL = {"view_product": "view_item"}
# Canonical names written as a Convead type; only view_item comes back under its own name.
TO_WIRE = {"view_item": "view_product", "page_view": "link", "view_cart": "update_cart"}
PRODUCT_TYPES = frozenset({"view_product", "add_to_cart", "remove_from_cart"})  # one product, flat
ITEM_TYPES = frozenset({"purchase", "update_cart"})  # an items array

# For sniffing: types gtag.js never sends, and property keys only Convead uses.
CONVEAD_ONLY = frozenset(TYPES) - {"add_to_cart", "remove_from_cart", "purchase"}
CONVEAD_KEYS = frozenset({"product_id", "qnt", "order_id", "product_name", "product_url"})
REQUEST_KEYS = ("app_key", "visitor_uid", "guest_uid")
HASH_SUFFIXES = ("_md5", "_sha256")


class TypeRule(NamedTuple):
    """What the document and its clients require of one type's properties."""

    required: tuple[str, ...] = ()  # missing: VALUE_REQUIRED error
    recommended: tuple[str, ...] = ()  # missing: RECOMMENDED_MISSING warning
    summary: str = ""


RULES: dict[str, TypeRule] = {
    "view_product": TypeRule(("product_id",), (), "a product card view"),
    "add_to_cart": TypeRule(("product_id", "qnt"), ("price",), "one product added"),
    "remove_from_cart": TypeRule(("product_id",), ("qnt",), "qnt units of one product removed"),
    "update_cart": TypeRule(("items",), (), "the full cart; items: [] is a cleared cart"),
    "purchase": TypeRule(
        ("order_id", "revenue"), (), "revenue is the full order cost; state for order updates"
    ),
    "update_info": TypeRule((), (), "visitor_info updates the user traits"),
    "custom": TypeRule(("key",), (), "key: the event key set in My account > My events"),
    "file": TypeRule((), ("file_url",), "a file downloaded"),
    "link": TypeRule((), (), "a page opened; key_page_id"),
    "mailto": TypeRule((), ("email",), "an email link clicked: email is the address, not the visitor's"),
}

# What Convead's amounts mean: a purchase's revenue (commerce.value) is the full order cost.
AMOUNTS = amounts.Meaning(
    "Convead", amounts.TOTAL_VALUE, {"value": "revenue"}, {"purchase": frozenset({"value"})}
)

_UID = re.compile(r"[0-9a-z-]*")
_json = msgspec.json.Decoder(float_hook=Decimal)


def visitor_uid(value: Any, path: Path, issues: Issues) -> Any:
    """The registered visitor's id: a string of ``[0-9a-z-]`` (others: a warning)."""
    v = ident(value, path, issues)
    if v is not INVALID and not _UID.fullmatch(v):
        issues.warning(
            path,
            "FORMAT_INVALID",
            f"expected a visitor_uid of lower-case letters, digits and '-', got {describe(value)}; "
            "the tracker may not match it to the visitor. Send the site's user id in that alphabet",
        )
    return v


def id_as_sent(value: Any, path: Path, issues: Issues) -> Any:
    """An identifier kept as sent: a string or a whole number."""
    if type(value) is str or type(value) is int:
        return value
    issues.error(
        path, "TYPE_INVALID", f"expected an identifier (a string or a number), got {describe(value)}"
    )
    return INVALID


def data_object(value: Any, path: Path, issues: Issues) -> Any:
    """The ``data`` field: a JSON string of the event object (or the object itself)."""
    if type(value) is dict:
        return value
    if type(value) is not str:
        issues.error(
            path,
            "TYPE_INVALID",
            f"expected data as a JSON string of the event {{type, properties, ...}}, got {describe(value)}",
        )
        return INVALID
    try:
        parsed = _json.decode(value)
    except (msgspec.DecodeError, RecursionError) as exc:
        issues.error(
            path,
            "FORMAT_INVALID",
            f"expected data as a JSON string of the event {{type, properties, ...}}, got {describe(value)}, "
            f"which is not JSON: {exc}. Send the event object serialised with JSON.stringify",
        )
        return INVALID
    if type(parsed) is not dict:
        issues.error(
            path,
            "TYPE_INVALID",
            f"expected data to hold a JSON object {{type, properties, ...}}, got {describe(parsed)}",
        )
        return INVALID
    return parsed


# -- tables ------------------------------------------------------------------------
APP_KEY = "$app_key"  # Event.extras key: the app_key is a credential, kept only as wire metadata

REQUEST = Table(
    "Convead request fields (POST /watch/event, form-encoded: every value is a string)",
    [
        Field("app_key", "extras." + APP_KEY, string, "required; a credential: wire metadata only"),
        Field("visitor_uid", "user_id", visitor_uid, "required ('' when unknown); [0-9a-z-], else a warning"),
        Field("guest_uid", "anonymous_id", ident, "required ('' when unknown); one of the uids is not ''"),
        Field("data", "data", data_object, "required: the event as a JSON string; see the data table"),
    ],
)

DATA = Table(
    "Convead data (the event object inside the data field)",
    [
        Field("type", "name", anything, "required: one of the ten types; view_product is view_item"),
        Field("properties", "properties", obj, "see the product, order and properties tables"),
        Field("visitor_info", "user", obj, "see the visitor_info table"),
        Field("url", "context.page.url", string),
        Field("path", "context.page.path", string),
        Field("title", "context.page.title", string),
        Field("referrer", "context.page.referrer", string),
        Field("domain", "context.page.domain", string),
        Field("host", "context.page.host", string),
        Field("app_key", "data.app_key", string, "a copy of the request's; rendered from it"),
        Field("visitor_uid", "data.visitor_uid", ident, "a copy of the request's; a different one: warning"),
        Field("guest_uid", "data.guest_uid", ident, "a copy of the request's; a different one: warning"),
    ],
)

ITEM = Table(
    "Convead product (the properties of view_product, add_to_cart, remove_from_cart; each of items)",
    [
        Field("product_id", "item_id", ident, "required; the catalogue (feed) id"),
        Field("product_name", "item_name", string),
        Field("qnt", "quantity", quantity, "required on add_to_cart; recommended in items"),
        Field("price", "price", amount, "unit price; recommended on add_to_cart and in items"),
        Field("product_price", "product_price", amount, "read as price when price is absent; kept as sent"),
        Field("product_url", "url", string),
        Field("product_image_url", "image_url", string),
        Field("category_id", "extras.category_id", id_as_sent, "a category id, not a name: item extras"),
    ],
)

ORDER = Table(
    "Convead purchase properties",
    [
        Field("order_id", "transaction_id", ident, "required"),
        Field("revenue", "value", amount, "required; the full order cost, delivery and discounts included"),
        Field("state", "status", string, "order updates"),
        Field("items", "items", array, "see the product table; product_id required in each"),
    ],
)

CART = Table(
    "Convead update_cart properties",
    [Field("items", "items", array, "required: the full cart; [] is a cleared cart (kept apart from none)")],
)

PROPS = Table(
    "Convead properties of the other types (kept in properties under these names)",
    [
        Field("key", "key", string, "custom: required"),
        Field("file_url", "file_url", string, "file: recommended"),
        Field("file_title", "file_title", string, "file"),
        Field("key_page_id", "key_page_id", id_as_sent, "link"),
        Field("email", "email", string, "mailto: the address clicked, not the visitor's; recommended"),
    ],
)
# Each field above is checked on its own type only; elsewhere such a key is an unknown property.
TYPE_PROPS = {
    wire: Table(PROPS.title, [f for f in PROPS.fields if f.doc.split(":")[0] == wire])
    for wire in ("custom", "file", "link", "mailto")
}

VISITOR = Table(
    "Convead visitor_info (user traits; other keys such as custom_field_N are traits as sent)",
    [
        Field("first_name", "first_name", string),
        Field("last_name", "last_name", string),
        Field("email", "email", email, "a malformed address is an error"),
        Field("phone", "phone", phone_lenient, "not in E.164: a warning (the document sends '555555')"),
        Field("date_of_birth", "birthdate", birthdate, "YYYY-MM-DD"),
        Field("gender", "gender", string),
        Field("language", "language", string),
    ],
)
TRAIT_TO_WIRE = {f.target: f.wire for f in VISITOR.fields if f.target != f.wire}
