"""GET /t.js: the tracker minified, gzipped when accepted, cached and revalidated."""

from __future__ import annotations

import gzip

import pytest

from trackway import tracker

pytestmark = pytest.mark.anyio

BUDGET = 6 * 1024  # issue 16: <= 6 KB minified and gzipped


def test_the_served_tracker_is_within_its_budget_and_smaller_than_its_source():
    built = tracker.script()
    assert len(built.gzipped) <= BUDGET, f"t.js is {len(built.gzipped)} bytes gzipped; the budget is {BUDGET}"
    assert len(built.plain) < len(tracker.source().encode())  # comments and spaces went
    assert gzip.decompress(built.gzipped) == built.plain
    assert tracker.script() is built  # built once


def test_the_served_tracker_opens_with_chromiums_compile_hint():
    """V8 reads the hint only as the file's first line; minifying drops line comments, so the
    build adds it after. Without it Chromium compiles each function on the page's main thread
    at its first call (bench/tracker.py measures the difference)."""
    first, _, rest = tracker.script().plain.partition(b"\n")
    assert first == b"//# allFunctionsCalledOnLoad"
    assert rest.startswith(b"(function") and b"allFunctionsCalledOnLoad" not in rest


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("gzip;q=0", False),
        ("", False),
        ("*", True),
    ],
)
async def test_t_js_is_gzipped_only_when_accepted(h, accept, gzipped):
    r = await h.client.get("/t.js", headers={"Accept-Encoding": accept})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert (r.headers.get("content-encoding") == "gzip") is gzipped
    assert r.content == tracker.script().plain  # httpx inflates what it was sent gzipped


async def test_t_js_is_cached_long_and_revalidated_by_its_etag(h):
    r = await h.client.get("/t.js")
    etag = r.headers["etag"]
    assert etag == tracker.script().etag.decode()
    assert "max-age=604800" in r.headers["cache-control"] and "public" in r.headers["cache-control"]
    assert r.headers["vary"] == "Accept-Encoding"
    for tags in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await h.client.get("/t.js", headers={"If-None-Match": tags})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    changed = await h.client.get("/t.js", headers={"If-None-Match": '"an-older-release"'})
    assert changed.status_code == 200 and changed.content == tracker.script().plain


async def test_the_demo_page_is_served_only_when_demo_shop_names_a_property(h):
    assert (await h.client.get("/demo/shop")).status_code == 404
    path = h.cfg.path
    path.write_text(
        path.read_text().replace(
            "[properties.default]", '[server]\ndemo_shop = "default"\n\n[properties.default]', 1
        )
    )
    h.collector._next_check = 0
    r = await h.client.get("/demo/shop")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'data-key="{h.keys()["collect_key"]}"' in r.text and 'src="/t.js"' in r.text
