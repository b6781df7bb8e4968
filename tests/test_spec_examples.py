"""Every example of the vendor documents: extracted (none missed), valid in its dialect and
with auto (the same verdict both ways), round-tripped, and every warning it gives listed
and justified in docs/spec-examples.md."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

import trackway
from tests.dialects.corpus import example_dialect
from tests.support.roundtrip import normalise, roundtrip
from tests.support.specs import (
    DOCUMENT,
    Example,
    all_examples,
    commanders_act_hashed_user,
    koalect_cookie,
    koalect_product,
    raw_counts,
)
from trackway.vendors.koalect.schema import parse_consent_cookie

EXAMPLES = all_examples()
PAGE = (Path(__file__).resolve().parents[1] / "docs" / "spec-examples.md").read_text()
# Examples that are no event, by document: Commanders Act's hashed user, Koalect's Product
# object and koalect_consent cookie (each tested below).
NOT_EVENTS = {"commanders-act-events.md": 1, "koalect-datalayer.txt": 2}


def test_the_documents_give_the_examples_we_expect():
    counts = Counter(e.dialect for e in EXAMPLES)
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


def test_no_example_of_a_document_is_missed():
    """What the extractors find, against the examples counted on each document's raw text."""
    found = Counter(DOCUMENT[e.dialect] for e in EXAMPLES)
    for name, n in NOT_EVENTS.items():
        found[name] += n
    assert found == raw_counts()
    assert raw_counts() == {
        "2checkout-analytics-datalayer.md": 23,
        "commanders-act-events.md": 17,
        "convead-event-api.txt": 10,
        "insend-event-api.txt": 10,
        "koalect-datalayer.txt": 19,
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_example_decodes_in_its_dialect_without_error(example: Example):
    decoded = trackway.decode(example_dialect(example.dialect), example.value)
    assert decoded.valid, [i for i in decoded.issues if i.is_error]
    assert len(decoded.events) == 1


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_example_as_written_decodes_with_auto_without_error_and_as_named(example: Example):
    """From the document's text (insend(...) is InSend's); the verdict is the named one's."""
    auto = trackway.decode("auto", example.read)
    assert auto.valid, (auto.dialect, [i for i in auto.issues if i.is_error])
    assert len(auto.events) == 1
    named = trackway.decode(auto.dialect, example.read)
    assert [i for i in auto.issues if i.code != "DIALECT_AMBIGUOUS"] == named.issues


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_example_round_trips(example: Example):
    out, _ = roundtrip(example_dialect(example.dialect), example.value)
    expected = example.value
    if example.id == "koalect:click_link":  # the documented typo is written back corrected
        expected = {("target_name" if k == "traget_name" else k): v for k, v in expected.items()}
    assert normalise(out) == normalise([expected])


def test_the_hashed_user_example_is_a_valid_user():
    user = commanders_act_hashed_user()["user"]
    body = {
        "event_name": "login",
        "user": {**user, "consistent_anonymous_id": "a-1", "consent_categories": [1]},
        "context": {"event_id": "e-1", "event_timestamp": 1_700_000_000_000},
    }
    for payload in (["trigger", "login", {"user": user}], body):
        decoded = trackway.decode("commanders-act", payload)
        assert decoded.valid and not [i for i in decoded.issues if "HASH" in i.code]
        assert decoded.events[0].user == user


def test_the_koalect_product_and_cookie_examples_are_read():
    _, product = koalect_product()
    decoded = trackway.decode("koalect", {"event": "view_item_list", "ecommerce": {"items": [product]}})
    assert [i.path for i in decoded.issues if i.is_error or "items[0]" in i.path] == []
    _, cookie, notes = koalect_cookie()
    assert cookie == {"name": "koalect_consent", "value": "functional analytics"}
    assert notes == ["line 3: a missing comma after 'name' is restored"]
    assert parse_consent_cookie(cookie["value"]) == ["functional", "analytics"]


# -- docs/spec-examples.md ---------------------------------------------------------------
def table(heading: str) -> list[list[str]]:
    """The rows of the table under ``heading`` in docs/spec-examples.md, cells stripped."""
    part = PAGE.split(heading, 1)[1]
    rows = [line for line in part.splitlines() if line.startswith("| ")]
    end = next((n for n, line in enumerate(rows) if line.startswith("| example") and n), len(rows))
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in rows[:end]]
    return [c for c in cells[1:] if not set(c[0]) <= {"-", " "}]


def test_the_docs_list_every_warning_an_example_gives_and_no_other():
    given = set()
    for e in EXAMPLES:
        for i in trackway.decode(example_dialect(e.dialect), e.value).issues:
            assert not i.is_error
            given.add((e.id, i.path, i.code))
    listed = set()
    for cells in table("## The warnings the examples give, and why"):
        example, paths, code, why = cells
        assert why, f"no reason given for {example} {code}"
        for path in re.findall(r"`([^`]+)`", paths):
            listed.add((example, path, code))
    assert given - listed == set(), "warnings not listed in docs/spec-examples.md"
    assert listed - given == set(), "listed in docs/spec-examples.md but no longer given"


def test_the_docs_list_every_example_auto_finds_readable_twice():
    given = {}
    for e in EXAMPLES:
        decoded = trackway.decode("auto", e.read)
        if any(i.code == "DIALECT_AMBIGUOUS" for i in decoded.issues):
            given[e.id] = (decoded.dialect, ", ".join(decoded.alternatives))
    listed = {c[0]: (c[1], c[2]) for c in table("## Read with `auto`: the payloads two dialects read")}
    assert given == listed


def test_the_docs_name_every_example_that_needed_a_note():
    needed = {e.name for e in EXAMPLES if e.notes}
    missing = [name for name in needed if name not in PAGE]
    assert not missing, f"docs/spec-examples.md does not mention {missing}"
