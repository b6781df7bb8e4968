"""The Python API: decode, encode, convert, parse, detect."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

import trackway
from trackway.errors import ParseError, UnknownDialectError

PURCHASE = {
    "event": "purchase",
    "ecommerce": {
        "transaction_id": "T1",
        "currency": "EUR",
        "value": 10,
        "items": [{"item_id": "a", "price": 10}],
    },
}


@pytest.mark.parametrize(
    "payload",
    [
        PURCHASE,
        trackway.model.encode_json(PURCHASE),
        trackway.model.encode_json(PURCHASE).decode(),
        "{event: 'purchase', ecommerce: {transaction_id: 'T1', currency: 'EUR', value: 10,"
        " items: [{item_id: 'a', price: 10}]}}",
    ],
    ids=["object", "bytes", "json-text", "javascript"],
)
def test_decode_takes_objects_json_and_javascript(payload):
    decoded = trackway.decode("gtm-ga4", payload)
    assert decoded.valid
    assert decoded.events[0].commerce.value == Decimal(10)


def test_decode_sets_the_property():
    assert trackway.decode("gtm-ga4", PURCHASE, property="shop").events[0].property == "shop"


def test_unparsable_text_raises_the_one_documented_error():
    with pytest.raises(ParseError):
        trackway.decode("gtm-ga4", b"{event: ")
    with pytest.raises(ParseError):
        trackway.decode("auto", b"\xff\xfe")


def test_unknown_dialect_names_the_known_ones():
    with pytest.raises(UnknownDialectError, match="gtm-ga4"):
        trackway.decode("gtm-ga5", PURCHASE)


def test_auto_detection_reports_its_choice():
    decoded = trackway.decode("auto", PURCHASE)
    assert decoded.dialect == "gtm-ga4"
    assert decoded.detection.startswith("auto: read as gtm-ga4")


def test_auto_detection_of_nothing_known_is_an_error():
    decoded = trackway.decode("auto", {"hello": "world"})
    assert not decoded.valid
    assert decoded.issues[0].code == "DIALECT_UNKNOWN"


def test_encode_renders_a_canonical_event():
    event = trackway.decode("gtm-ga4", PURCHASE).events[0]
    assert trackway.encode("gtm-ga4", event) == PURCHASE


def test_hash_transaction_id_option_writes_the_sha256_of_the_reference():
    event = trackway.decode(
        "gtm-ga4", dict(PURCHASE, ecommerce=dict(PURCHASE["ecommerce"], transaction_id="11544394"))
    ).events[0]
    out = trackway.encode("gtm-ga4", event, hash_transaction_id=True)
    assert out["ecommerce"]["transaction_id"] == hashlib.sha256(b"11544394").hexdigest()
    again = trackway.decode("gtm-ga4", out).events[0]  # an id that is already a SHA-256 is kept
    assert trackway.encode("gtm-ga4", again, hash_transaction_id=True) == out


def test_convert_skips_events_with_errors_and_returns_all_issues():
    bad = {"event": "purchase", "ecommerce": {"currency": "EURO", "items": [{"item_id": "a"}]}}
    result = trackway.convert(bad, "gtm-ga4", "gtm-ga4")
    assert result.payloads == []
    assert not result.valid
    assert {i.code for i in result.issues} >= {"CURRENCY_INVALID", "VALUE_REQUIRED"}


def test_decoded_accepted_keeps_only_events_without_errors():
    decoded = trackway.decode("gtm-ga4", {"event": "search"})
    assert decoded.accepted() == []
    assert trackway.decode("gtm-ga4", PURCHASE).accepted() == trackway.decode("gtm-ga4", PURCHASE).events


def test_importing_one_adapter_first_does_not_hide_the_others():
    import subprocess
    import sys

    code = "import trackway.dialects.ga4_mp, trackway; print(','.join(trackway.dialect_names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().split(",") == trackway.dialect_names()
    assert len(trackway.dialect_names()) == 10
