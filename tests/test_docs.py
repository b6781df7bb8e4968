"""The reference pages in docs/ are generated from the code and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackway.docs_gen import pages
from trackway.server import metrics, routes

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


def _section(text: str, heading: str) -> str:
    """The text under the ``## `heading`...`` heading of a page, up to the next one."""
    start = text.index(f"\n## `{heading}`")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


@pytest.mark.parametrize("route", ["GET /health", "GET /metrics", "GET /api/export"])
def test_api_md_has_a_section_for_the_route(route: str) -> None:
    method, path = route.split()
    assert method in routes.OWN[path] if path in routes.OWN else path.startswith("/api/")
    assert f"\n## `{route}" in (DOCS / "api.md").read_text(), f"docs/api.md has no section for {route}"


@pytest.mark.parametrize("series", sorted(metrics.HELP))
def test_api_md_documents_every_metric_series_with_its_type(series: str) -> None:
    kind = metrics.HELP[series][0]
    assert f"| `{series}` | {kind} |" in _section((DOCS / "api.md").read_text(), "GET /metrics")
