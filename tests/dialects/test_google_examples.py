"""Google's documented shapes are valid: GA4 ecommerce (gtag.js and the GTM dataLayer), the
GA4 Measurement Protocol, and Universal Analytics enhanced ecommerce (gtag.js and the GTM
dataLayer), with the entries that are no event (gtag.js config/set/consent/js/get, GTM's
``{ecommerce: null}`` clear).

The payloads are written here, not copied: each reproduces the shape of an example of
Google's developer guides (the same keys, nesting and value types, other values):

- GA4 ecommerce: developers.google.com/analytics/devguides/collection/ga4/ecommerce
  (``client_type=gtag`` and ``client_type=gtm``) and .../ga4/reference/events;
- GA4 Measurement Protocol: .../collection/protocol/ga4/sending-events,
  .../protocol/ga4/reference, .../protocol/ga4/user-properties;
- gtag.js commands: developers.google.com/tag-platform/gtagjs/reference;
- UA with gtag.js: .../collection/gtagjs/enhanced-ecommerce;
- UA with GTM: developers.google.com/tag-manager/enhanced-ecommerce (its actionField
  rules are analytics.js's, .../collection/analyticsjs/enhanced-ecommerce: ``step`` is
  "optional on checkout actions"). analytics.js's own ``ga('ec:...')`` commands are no
  dialect Trackway reads: their data reaches it as the dataLayer objects below.

**How a non-event is reported**: valid, no event, no issue. It is neither stored nor a
rejected payload (``/collect`` answers ``accepted: true`` with no event ids).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import trackway
from trackway.dialects.base import DecodeContext
from trackway.issues import Issues


def d(text: str) -> Decimal:
    return Decimal(text)


# -- GA4 items and events -----------------------------------------------------------------
GA4_ITEM = {
    "item_id": "SKU_4821",
    "item_name": "Harbour Rain Jacket",
    "affiliation": "Example Outdoor Store",
    "coupon": "AUTUMN_10",
    "discount": d("4.50"),
    "index": 0,
    "item_brand": "Northwind",
    "item_category": "Clothing",
    "item_category2": "Adult",
    "item_category3": "Jackets",
    "item_category4": "Rain",
    "item_category5": "Hooded",
    "item_list_id": "new_arrivals",
    "item_list_name": "New arrivals",
    "item_variant": "navy",
    "location_id": "ChIJ_example_place_id",
    "price": d("45.50"),
    "quantity": 2,
}
GA4_ITEM_2 = {"item_id": "SKU_4822", "item_name": "Trail Cap", "price": d("12.00"), "quantity": 1}
ITEMS = [GA4_ITEM, GA4_ITEM_2]
MONEY = {"currency": "EUR", "value": d("103.00")}

GA4_EVENTS = {
    "view_item_list": {"item_list_id": "new_arrivals", "item_list_name": "New arrivals", "items": ITEMS},
    "select_item": {"item_list_id": "new_arrivals", "item_list_name": "New arrivals", "items": [GA4_ITEM]},
    "view_item": {"currency": "EUR", "value": d("91.00"), "items": [GA4_ITEM]},
    "add_to_wishlist": {"currency": "EUR", "value": d("91.00"), "items": [GA4_ITEM]},
    "add_to_cart": {"currency": "EUR", "value": d("91.00"), "items": [GA4_ITEM]},
    "view_cart": {**MONEY, "items": ITEMS},
    "remove_from_cart": {"currency": "EUR", "value": d("12.00"), "items": [GA4_ITEM_2]},
    "begin_checkout": {**MONEY, "coupon": "WELCOME", "items": ITEMS},
    "add_shipping_info": {**MONEY, "coupon": "WELCOME", "shipping_tier": "Ground", "items": ITEMS},
    "add_payment_info": {**MONEY, "coupon": "WELCOME", "payment_type": "Credit Card", "items": ITEMS},
    "purchase": {
        "transaction_id": "T_77120",
        **MONEY,
        "tax": d("8.24"),
        "shipping": d("4.90"),
        "coupon": "WELCOME",
        "items": ITEMS,
    },
    "refund": {  # a full refund: no items
        "transaction_id": "T_77120",
        **MONEY,
        "tax": d("8.24"),
        "shipping": d("4.90"),
        "coupon": "WELCOME",
    },
    "view_promotion": {
        "creative_name": "autumn_banner",
        "creative_slot": "hero_slot",
        "promotion_id": "P_AUTUMN",
        "promotion_name": "Autumn sale",
        "items": [GA4_ITEM],
    },
    "select_promotion": {
        "creative_name": "autumn_banner",
        "creative_slot": "hero_slot",
        "promotion_id": "P_AUTUMN",
        "promotion_name": "Autumn sale",
        "items": [GA4_ITEM],
    },
}
PARTIAL_REFUND = {"transaction_id": "T_77120", "currency": "EUR", "value": d("12.00"), "items": [GA4_ITEM_2]}

# gtm-ga4 puts the ecommerce parameters in ``ecommerce``; the list and promotion ones too.
GTM_GA4 = [
    (f"gtm-ga4 {name}", "gtm-ga4", {"event": name, "ecommerce": params}, 1)
    for name, params in GA4_EVENTS.items()
]
GTM_GA4.append(("gtm-ga4 refund partial", "gtm-ga4", {"event": "refund", "ecommerce": PARTIAL_REFUND}, 1))

GTAG_GA4 = [
    (f"gtag-ga4 {name}", "gtag-ga4", ["event", name, params], 1) for name, params in GA4_EVENTS.items()
]
GTAG_GA4.append(("gtag-ga4 refund partial", "gtag-ga4", ["event", "refund", PARTIAL_REFUND], 1))

NON_EVENTS = [
    ("gtm-ga4 ecommerce clear", "gtm-ga4", {"ecommerce": None}, 0),
    ("gtm-ua ecommerce clear", "gtm-ua", {"ecommerce": None}, 0),
    ("gtag config", "gtag-ga4", ["config", "G-EXAMPLE01"], 0),
    ("gtag config with parameters", "gtag-ga4", ["config", "G-EXAMPLE01", {"send_page_view": False}], 0),
    ("gtag config of a UA property", "gtag-ua", ["config", "UA-123456-1"], 0),
    ("gtag set", "gtag-ga4", ["set", {"currency": "EUR"}], 0),
    ("gtag set user_properties", "gtag-ga4", ["set", "user_properties", {"favorite_color": "teal"}], 0),
    (
        "gtag consent default",
        "gtag-ga4",
        [
            "consent",
            "default",
            {"ad_storage": "denied", "analytics_storage": "denied", "wait_for_update": 500},
        ],
        0,
    ),
    ("gtag consent update", "gtag-ga4", ["consent", "update", {"ad_storage": "granted"}], 0),
    ("gtag js", "gtag-ga4", ["js", "2024-05-01T10:00:00.000Z"], 0),  # new Date() as JSON writes it
    ("gtag get", "gtag-ga4", ["get", "G-EXAMPLE01", "client_id"], 0),
]

# -- the GA4 Measurement Protocol -----------------------------------------------------------
MP_BODY = {
    "client_id": "1184233.1699999999",
    "user_id": "member_5521",
    "timestamp_micros": 1_714_557_600_000_000,
    "non_personalized_ads": False,
    "user_properties": {"customer_tier": {"value": "gold"}, "visits": {"value": 12}},
    "consent": {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
    "events": [
        {
            "name": "purchase",
            "params": {**GA4_EVENTS["purchase"], "session_id": "1714557000", "engagement_time_msec": 120},
        },
        {"name": "tutorial_begin", "params": {"session_id": "1714557000", "engagement_time_msec": 100}},
    ],
}
MP_APP_BODY = {
    "app_instance_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "events": [{"name": "level_up", "params": {"level": 5, "character": "explorer"}}],
}
MP = [
    ("ga4-mp purchase and a custom event", "ga4-mp", MP_BODY, 2),
    ("ga4-mp app stream", "ga4-mp", MP_APP_BODY, 1),
    (
        "ga4-mp every ecommerce event",
        "ga4-mp",
        {
            "client_id": "1184233.1699999999",
            "events": [{"name": n, "params": p} for n, p in list(GA4_EVENTS.items())[:12]],
        },
        12,
    ),
    (
        "ga4-mp user property with its timestamp",
        "ga4-mp",
        {
            "client_id": "1184233.1699999999",
            "user_properties": {
                "customer_tier": {"value": "gold", "timestamp_micros": 1_714_557_600_000_000}
            },
            "events": [{"name": "login", "params": {"method": "Google"}}],
        },
        1,
    ),
]

# -- Universal Analytics with gtag.js --------------------------------------------------------
UA_ITEM = {
    "id": "P4410",
    "name": "Harbour Rain Jacket",
    "list_name": "Search results",
    "brand": "Northwind",
    "category": "Clothing/Jackets",
    "variant": "navy",
    "list_position": 1,
    "quantity": 2,
    "price": "45.50",  # Google's purchase example sends the price as a string
}
UA_ITEM_2 = {
    **UA_ITEM,
    "id": "P4411",
    "name": "Trail Cap",
    "list_position": 2,
    "quantity": 1,
    "price": "12.0",
}
UA_PROMOS = [
    {"id": "PR_11", "name": "autumn_sale"},
    {"id": "PR_12", "name": "free_shipping", "creative_name": "shipping_banner", "creative_slot": "slot_2"},
]
GTAG_UA = [
    ("gtag-ua view_item_list", "gtag-ua", ["event", "view_item_list", {"items": [UA_ITEM, UA_ITEM_2]}], 1),
    (
        "gtag-ua select_content product",
        "gtag-ua",
        ["event", "select_content", {"content_type": "product", "items": [UA_ITEM]}],
        1,
    ),
    ("gtag-ua view_item", "gtag-ua", ["event", "view_item", {"items": [UA_ITEM]}], 1),
    ("gtag-ua add_to_cart", "gtag-ua", ["event", "add_to_cart", {"items": [UA_ITEM]}], 1),
    ("gtag-ua remove_from_cart", "gtag-ua", ["event", "remove_from_cart", {"items": [UA_ITEM_2]}], 1),
    ("gtag-ua begin_checkout", "gtag-ua", ["event", "begin_checkout", {"items": [UA_ITEM], "coupon": ""}], 1),
    (
        "gtag-ua checkout_progress",
        "gtag-ua",
        ["event", "checkout_progress", {"items": [UA_ITEM], "coupon": "", "checkout_step": 2}],
        1,
    ),
    (
        "gtag-ua set_checkout_option value USPS",
        "gtag-ua",
        [
            "event",
            "set_checkout_option",
            {"checkout_step": 1, "checkout_option": "shipping method", "value": "USPS"},
        ],
        1,
    ),
    (
        "gtag-ua purchase",
        "gtag-ua",
        [
            "event",
            "purchase",
            {
                "transaction_id": "24.0316085",
                "affiliation": "Example online store",
                "value": d("63.15"),
                "currency": "EUR",
                "tax": d("2.24"),
                "shipping": 0,
                "items": [UA_ITEM, UA_ITEM_2],
            },
        ],
        1,
    ),
    ("gtag-ua refund full", "gtag-ua", ["event", "refund", {"transaction_id": "T_77120"}], 1),
    (
        "gtag-ua refund partial",
        "gtag-ua",
        ["event", "refund", {"transaction_id": "T_77120", "items": [{"id": "P4411", "quantity": 1}]}],
        1,
    ),
    ("gtag-ua view_promotion", "gtag-ua", ["event", "view_promotion", {"promotions": UA_PROMOS}], 1),
    (
        "gtag-ua select_content promotion",
        "gtag-ua",
        ["event", "select_content", {"promotions": UA_PROMOS[:1]}],
        1,
    ),
]

# -- Universal Analytics with the GTM dataLayer -------------------------------------------------
PRODUCT = {
    "name": "Harbour Rain Jacket",
    "id": "P4410",
    "price": "45.50",
    "brand": "Northwind",
    "category": "Clothing",
    "variant": "navy",
}
PROMO = {"id": "AUTUMN_24", "name": "Autumn Sale", "creative": "hero_banner", "position": "slot1"}
GTM_UA = [
    (
        "gtm-ua impressions",
        "gtm-ua",
        {
            "ecommerce": {
                "currencyCode": "EUR",
                "impressions": [
                    {**PRODUCT, "list": "Search Results", "position": 1},
                    {**PRODUCT, "id": "P4411", "name": "Trail Cap", "list": "Search Results", "position": 2},
                ],
            }
        },
        1,
    ),
    (
        "gtm-ua productClick",
        "gtm-ua",
        {
            "event": "productClick",
            "ecommerce": {
                "click": {"actionField": {"list": "Search Results"}, "products": [{**PRODUCT, "position": 1}]}
            },
        },
        1,
    ),
    (
        "gtm-ua detail",
        "gtm-ua",
        {"ecommerce": {"detail": {"actionField": {"list": "Apparel Gallery"}, "products": [PRODUCT]}}},
        1,
    ),
    (
        "gtm-ua addToCart",
        "gtm-ua",
        {
            "event": "addToCart",
            "ecommerce": {"currencyCode": "EUR", "add": {"products": [{**PRODUCT, "quantity": 1}]}},
        },
        1,
    ),
    (
        "gtm-ua removeFromCart",
        "gtm-ua",
        {"event": "removeFromCart", "ecommerce": {"remove": {"products": [{**PRODUCT, "quantity": 1}]}}},
        1,
    ),
    ("gtm-ua promoView", "gtm-ua", {"ecommerce": {"promoView": {"promotions": [PROMO]}}}, 1),
    (
        "gtm-ua promotionClick",
        "gtm-ua",
        {"event": "promotionClick", "ecommerce": {"promoClick": {"promotions": [PROMO]}}},
        1,
    ),
    (
        "gtm-ua checkout",
        "gtm-ua",
        {
            "event": "checkout",
            "ecommerce": {
                "checkout": {
                    "actionField": {"step": 1, "option": "Visa"},
                    "products": [{**PRODUCT, "quantity": 1}],
                }
            },
        },
        1,
    ),
    (
        "gtm-ua checkout without step",  # analytics.js: step is optional on checkout actions
        "gtm-ua",
        {"event": "checkout", "ecommerce": {"checkout": {"products": [{**PRODUCT, "quantity": 1}]}}},
        1,
    ),
    (
        "gtm-ua checkoutOption",
        "gtm-ua",
        {
            "event": "checkoutOption",
            "ecommerce": {"checkout_option": {"actionField": {"step": 1, "option": "Express"}}},
        },
        1,
    ),
    (
        "gtm-ua purchase",
        "gtm-ua",
        {
            "ecommerce": {
                "purchase": {
                    "actionField": {
                        "id": "T_77120",
                        "affiliation": "Online Store",
                        "revenue": "63.15",
                        "tax": "2.24",
                        "shipping": "4.90",
                        "coupon": "AUTUMN_10",
                    },
                    "products": [{**PRODUCT, "quantity": 1, "coupon": ""}],
                }
            }
        },
        1,
    ),
    ("gtm-ua refund full", "gtm-ua", {"ecommerce": {"refund": {"actionField": {"id": "T_77120"}}}}, 1),
    (
        "gtm-ua refund partial",
        "gtm-ua",
        {
            "ecommerce": {
                "refund": {
                    "actionField": {"id": "T_77120"},
                    "products": [{"id": "P4410", "quantity": 1}, {"id": "P4411", "quantity": 2}],
                }
            }
        },
        1,
    ),
]

CASES = [*GTAG_GA4, *GTM_GA4, *MP, *GTAG_UA, *GTM_UA, *NON_EVENTS]


@pytest.mark.parametrize(("dialect", "payload", "events"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_googles_documented_shape_is_valid_in_its_dialect(dialect, payload, events):
    decoded = trackway.decode(dialect, payload)
    assert decoded.valid, [(i.path, i.code, i.message) for i in decoded.issues if i.is_error]
    assert len(decoded.events) == events
    if events == 0:  # a non-event: nothing to say about it
        assert decoded.issues == []


@pytest.mark.parametrize(("dialect", "payload", "events"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_googles_documented_shape_is_valid_with_auto(dialect, payload, events):
    decoded = trackway.decode("auto", payload)
    assert decoded.valid, (decoded.dialect, [(i.path, i.code) for i in decoded.issues if i.is_error])
    assert len(decoded.events) == events
    if events == 0:
        assert decoded.issues == []


@pytest.mark.parametrize(("dialect", "payload", "events"), [c[1:] for c in GTM_GA4 + GTAG_GA4])
def test_the_ga4_shapes_give_no_warning_either(dialect, payload, events):
    """Every parameter GA4 lists is sent, each with its type: nothing to warn about."""
    assert trackway.decode(dialect, payload).issues == []


def test_a_ga4_value_without_a_currency_is_still_an_error():
    """The one rule that makes the examples send currency: they are valid because they do."""
    params = {k: v for k, v in GA4_EVENTS["purchase"].items() if k != "currency"}
    decoded = trackway.decode("gtm-ga4", {"event": "purchase", "ecommerce": params})
    assert [(i.path, i.code) for i in decoded.issues if i.is_error] == [
        ("$.ecommerce.currency", "VALUE_REQUIRED")
    ]


def test_set_checkout_option_keeps_the_option_chosen_as_sent():
    [event] = trackway.decode("gtag-ua", GTAG_UA[7][2]).events
    assert event.commerce is None  # 'USPS' is the option, not an amount
    assert event.properties == {"checkout_step": 1, "checkout_option": "shipping method", "value": "USPS"}
    out, _ = trackway.encode_with_issues("gtag-ua", event)
    assert out == GTAG_UA[7][2]


@pytest.mark.parametrize(
    ("payload", "path", "code"),
    [
        (
            ["event", "set_checkout_option", {"checkout_step": 1, "value": ["USPS"]}],
            "$[2].value",
            "TYPE_INVALID",
        ),
        (["event", "purchase", {"transaction_id": "T1", "value": "USPS"}], "$[2].value", "TYPE_INVALID"),
    ],
)
def test_value_is_money_except_on_set_checkout_option(payload, path, code):
    decoded = trackway.decode("gtag-ua", payload)
    assert (path, code) in [(i.path, i.code) for i in decoded.issues if i.is_error]


@pytest.mark.parametrize(
    ("dialect", "payload", "path", "code"),
    [
        ("gtm-ga4", {"user_id": "u1"}, "$.event", "VALUE_REQUIRED"),  # sets a value, names no event
        ("gtm-ua", {"ecommerce": {}}, "$.event", "VALUE_REQUIRED"),
        ("gtm-ga4", {}, "$.event", "VALUE_REQUIRED"),
        ("gtag-ga4", ["config"], "$", "PAYLOAD_INVALID"),
        ("gtag-ga4", ["consent", "grant", {}], "$[1]", "ENUM_INVALID"),
        ("gtag-ua", ["set", 5], "$[1]", "TYPE_INVALID"),
    ],
)
def test_what_looks_like_a_non_event_but_is_not_is_an_error(dialect, payload, path, code):
    decoded = trackway.decode(dialect, payload)
    assert (path, code) in [(i.path, i.code) for i in decoded.issues if i.is_error]
    assert decoded.events == []


@pytest.mark.parametrize(
    ("dialect", "payload", "events"), [c[1:] for c in NON_EVENTS], ids=[c[0] for c in NON_EVENTS]
)
def test_a_non_event_is_the_same_for_the_adapter_and_from_text(dialect, payload, events):
    issues = Issues()
    assert trackway.dialects.get(dialect).decode(payload, DecodeContext(), issues) == []
    assert issues.items == []
    assert trackway.decode(dialect, trackway.model.encode_json(payload)).events == []
