"""Every vendor document's own snippet, run on a page with the tracker, arrives stored
under its dialect with the verdict `trackway validate` gives the same payload."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import msgspec

import trackway
from tests.support.server import Server
from tests.support.specs import Example, all_examples
from tests.tracker.browser import Api, Pages, page_html, shot

# How a page runs a document's example: the vendors' JavaScript calls as written; gtag's
# arrays through gtag(), which pushes its arguments object; every dataLayer object pushed.
CALLS = {"commanders-act": "cact", "convead": "convead", "insend": "insend"}
HINT = {"commanders-act": "commanders-act", "convead": "convead", "insend": "insend"}
_json = msgspec.json.Encoder(decimal_format="number")
HEAD = """<script>
window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); }
window.cact = window.cact || function () { (cact.q = cact.q || []).push(arguments); };
window.convead = window.convead || function () { (convead.q = convead.q || []).push(arguments); };
window.insend = window.insend || function () { (insend.q = insend.q || []).push(arguments); };
</script>"""


def statement(e: Example) -> str:
    literal = _json.encode(e.value).decode()
    if e.dialect in CALLS:
        # the document's own call when it is valid JavaScript as written
        return e.read if not e.notes else f"{CALLS[e.dialect]}.apply(null, {literal});"
    if e.dialect.startswith("gtag-"):
        return f"gtag.apply(null, {literal});"
    return f"dataLayer.push({e.read if not e.notes else literal});"


def expected(e: Example) -> tuple[str, int, int]:
    """(dialect, events stored, failed payloads) as the server reads the same payload."""
    decoded = trackway.decode(HINT.get(e.dialect, "auto"), e.value)
    bad = [n for n in range(len(decoded.events)) if any(i.is_error for i in decoded.event_issues(n))]
    failed = 1 if bad or (not decoded.events and not decoded.valid) else 0
    return decoded.dialect, len(decoded.events) - len(bad), failed


def test_every_documented_call_arrives_under_its_dialect_with_its_verdict(
    server: Server, api: Api, pages: Pages, context: Any
) -> None:
    examples = all_examples()
    half = len(examples) // 2  # half run before the tracker loads (queued), half after
    before = "".join(f"<script>try {{ {statement(e)} }} catch (e) {{}}</script>" for e in examples[:half])
    after = "".join(f"<script>{statement(e)}</script>" for e in examples[half:])
    key = server.keys()["collect_key"]
    url = pages.add("/spec/snippets", page_html(server.url, key, after, head=HEAD + before))
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("window.__errors !== undefined")
    shot(page, "spec_snippets")
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__errors") == []  # the documents' snippets all ran
    page.goto("about:blank")  # pagehide: anything still queued goes by beacon

    want_events: Counter[str] = Counter()
    want_failed = 0
    for e in examples:
        dialect, stored, failed = expected(e)
        want_events[dialect] += stored
        want_failed += failed
    events = api.wait_events("/spec/snippets", lambda got: len(got) >= sum(want_events.values()))
    got = Counter(ev["dialect"] for ev in events)
    assert got == want_events
    failed_rows = api.failed("/spec/snippets")
    assert len(failed_rows) == want_failed
    # each document's dialect is there (custom cartUpdated is GTM's, read as gtm-ua)
    families = {e.dialect for e in examples} - {"custom"}
    assert families <= set(got) | {json.loads(json.dumps(f["dialect"])) for f in failed_rows}
