"""The reference pages in docs/ are generated from the code and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackway.docs_gen import pages

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize(("rel", "text"), sorted(pages().items()))
def test_generated_page_is_current(rel, text):
    path = DOCS / rel
    assert path.exists(), f"{rel} is missing: run `make docs`"
    assert path.read_text() == text, f"{rel} is stale: run `make docs`"


def test_every_dialect_documents_its_events_and_fields():
    for rel, text in pages().items():
        if rel.startswith("dialects/"):
            assert "## Events" in text
            assert "| `" in text, f"{rel} has no rows"
