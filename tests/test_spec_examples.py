"""Every example of the vendor documents decodes with no error and round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackway
from tests.support.roundtrip import normalise, roundtrip
from tests.support.specs import Example, all_examples

EXAMPLES = all_examples()
DIALECT = {"custom": "gtm-ua"}  # the cartUpdated custom event is read as a GTM object


def test_the_documents_give_the_examples_we_expect():
    counts: dict[str, int] = {}
    for e in EXAMPLES:
        counts[e.dialect] = counts.get(e.dialect, 0) + 1
    assert counts == {
        "gtag-ua": 3,
        "gtag-ga4": 6,
        "gtm-ua": 4,
        "gtm-ga4": 5,
        "adobe-dtm": 4,
        "custom": 1,
        "koalect": 17,
        "commanders-act": 16,
        "convead": 10,
        "insend": 10,
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_example_decodes_in_its_dialect_without_error(example: Example):
    dialect = DIALECT.get(example.dialect, example.dialect)
    decoded = trackway.decode(dialect, example.value)
    assert decoded.valid, [i for i in decoded.issues if i.is_error]
    assert len(decoded.events) == 1


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_example_round_trips(example: Example):
    dialect = DIALECT.get(example.dialect, example.dialect)
    out, _ = roundtrip(dialect, example.value)
    expected = example.value
    if example.id == "koalect:click_link":  # the documented typo is written back corrected
        expected = {("target_name" if k == "traget_name" else k): v for k, v in expected.items()}
    assert normalise(out) == normalise([expected])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_auto_detection_picks_the_examples_dialect_or_a_twin(example: Example):
    decoded = trackway.decode("auto", example.value)
    expected = DIALECT.get(example.dialect, example.dialect)
    twins = {"insend": "convead", "adobe-dtm": "gtm-ua", "koalect": "gtm-ga4"}
    if example.name == "page_redirect":  # the same array in the UA and GA4 tables: gtag-ga4 wins
        twins["gtag-ua"] = "gtag-ga4"
    assert decoded.dialect in {expected, twins.get(expected)}, decoded.detection
    if decoded.dialect != expected:
        assert expected in decoded.alternatives or trackway.dialects.get(expected).alias_of == decoded.dialect


def test_the_docs_name_every_example_that_needed_a_note():
    page = (Path(__file__).resolve().parents[1] / "docs" / "spec-examples.md").read_text()
    needed = {e.name for e in EXAMPLES if e.notes}
    missing = [name for name in needed if name not in page]
    assert not missing, f"docs/spec-examples.md does not mention {missing}"
