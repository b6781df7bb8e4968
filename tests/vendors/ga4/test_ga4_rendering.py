"""Rendering into GA4's dataLayer dialects: a value with no currency is a warning (as ga4-mp's
check gives), and another dialect's nested item fields are no GA4 item parameters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import trackway
from tests.support.specs import examples

D = Decimal
UA_PURCHASE = {
    "event": "purchase",
    "ecommerce": {
        "purchase": {"actionField": {"id": "T1", "revenue": 10}, "products": [{"id": "a", "price": 10}]}
    },
}

# (target, where its currency goes, the payload's commerce parameters)
TARGETS = [
    ("gtm-ga4", "$.ecommerce.currency", lambda p: p["ecommerce"]),
    ("gtag-ga4", "$[2].currency", lambda p: p[2]),
    ("koalect", "$.ecommerce.currency", lambda p: p["ecommerce"]),
]


@pytest.mark.parametrize(("target", "path", "params"), TARGETS, ids=[t[0] for t in TARGETS])
@pytest.mark.parametrize("currency", [None, "EUR"])
def test_a_value_rendered_without_a_currency_is_a_warning(target, path, params, currency):
    payload = {**UA_PURCHASE, "ecommerce": {**UA_PURCHASE["ecommerce"]}}
    if currency is not None:
        payload["ecommerce"]["currencyCode"] = currency
    out = trackway.convert(payload, "gtm-ua", target)
    assert out.valid
    rendered = params(out.payloads[0])
    assert rendered["value"] == D(10)
    warned = [i for i in out.issues if i.path == path and i.code == "VALUE_REQUIRED"]
    assert len(warned) == (currency is None)
    assert all(not i.is_error and "currency" in i.message and "10" in i.message for i in warned)
    assert rendered.get("currency") == currency


def test_no_value_no_currency_warning():
    event = trackway.Event(
        name="add_to_cart", dialect="gtm-ua", commerce=trackway.Commerce(items=[trackway.Item(item_id="a")])
    )
    _, issues = trackway.encode_with_issues("gtm-ga4", event)
    assert not [i for i in issues if i.path.endswith(".currency")]


def ca_item(**product: Any) -> dict[str, Any]:
    return {
        "id": "SKU",
        "quantity": 1,
        "affiliation": "shop",
        "product": {"name": "Tee", "price": 9, **product},
    }


# (Commanders Act product fields, GA4 item parameters they give, paths left out)
ITEMS = [
    ({"colors": ["red"]}, {}, {"$.ecommerce.items[0].product.colors"}),
    ({"size": "M"}, {"size": "M"}, set()),
    ({"size": "M", "dims": {"w": 1}}, {"size": "M"}, {"$.ecommerce.items[0].product.dims"}),
    (
        {"size": "40", "colors": ["a", "b"]},
        {"size": "40"},
        {"$.ecommerce.items[0].product.colors"},
    ),  # size: a string
]


@pytest.mark.parametrize(("product", "params", "dropped"), ITEMS)
def test_a_commanders_act_product_object_is_flattened_into_ga4_item_parameters(product, params, dropped):
    body = [
        "trigger",
        "add_to_cart",
        {"currency": "EUR", "value": 9, "items": [ca_item(**product)], "user": {"id": "u"}},
    ]
    out = trackway.convert(body, "commanders-act", "gtm-ga4")
    assert out.valid
    [item] = out.payloads[0]["ecommerce"]["items"]
    assert "product" not in item
    assert not any(isinstance(v, dict | list) for v in item.values())
    assert {k: item[k] for k in params} == params
    left_out = {i.path for i in out.issues if i.code == "NOT_CARRIED" and ".product." in i.path}
    assert left_out == dropped


def test_the_commanders_act_documents_purchase_leaks_no_object_into_ga4_items():
    example = next(e for e in examples("commanders-act") if e.name == "purchase").value
    for target in ("gtm-ga4", "gtag-ga4", "ga4-mp", "koalect"):
        out = trackway.convert(example, "commanders-act", target)
        payload = out.payloads[0]
        params = (
            payload["ecommerce"]
            if isinstance(payload, dict) and "ecommerce" in payload
            else payload[2]
            if isinstance(payload, list)
            else payload["events"][0]["params"]
        )
        for item in params["items"]:
            assert not any(isinstance(v, dict | list) for v in item.values()), (target, item)


@pytest.mark.parametrize("source", ["gtm-ga4", "gtag-ga4"])
def test_into_the_measurement_protocol_a_datalayers_nested_item_fields_are_left_out(source):
    # they reached GA4's servers (and the ga4 destination) as they were, without a word
    example = next(e for e in examples(source) if any("hiddenAdditionalFields" in str(v) for v in [e.value]))
    out = trackway.convert(example.value, source, "ga4-mp")
    items = [it for body in out.payloads for ev in body["events"] for it in ev["params"].get("items", [])]
    assert items and not any(isinstance(v, dict | list) for it in items for v in it.values())
    left_out = [
        i.path for i in out.issues if i.code == "NOT_CARRIED" and i.path.endswith("hiddenAdditionalFields")
    ]
    assert len(left_out) == sum(
        str(it).count("hiddenAdditionalFields") for it in example_items(example.value)
    )
    item = {"item_id": "a", "price": 1, "quantity": 1, "tags": ["x"]}
    params = {"currency": "EUR", "value": 1, "transaction_id": "T", "items": [item]}
    body = {"client_id": "1.2", "events": [{"name": "purchase", "params": params}]}
    back = trackway.convert(body, "ga4-mp", "ga4-mp")  # an MP body's own items: as they came
    assert back.payloads[0]["events"][0]["params"]["items"][0]["tags"] == ["x"]


def example_items(value):
    """The items of a dataLayer object or a gtag call."""
    params = value[2] if isinstance(value, list) else value.get("ecommerce", {})
    return params.get("items", [])


def test_a_ga4_sources_own_nested_item_fields_are_kept_as_sent():
    purchase = next(e for e in examples("gtm-ga4") if e.name == "purchase").value
    [item] = [it for it in purchase["ecommerce"]["items"] if "hiddenAdditionalFields" in it][:1]
    out = trackway.convert(purchase, "gtm-ga4", "gtag-ga4")
    rendered = out.payloads[0][2]["items"][0]
    assert rendered["hiddenAdditionalFields"] == item["hiddenAdditionalFields"]
