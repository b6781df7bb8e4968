"""Benchmark: what the browser tracker costs a page (issue 16's budgets).

- **Size**: ``/t.js`` as served, minified and gzipped (budget <= 6 KB).
- **Main-thread time**: a page pushes 200 GTM GA4 entries to its dataLayer, in
  Debian's headless Chromium, with the tracker's tag and without it (the baseline),
  the two alternating in the same run. Two measures, medians over the rounds:
  ``pushes``: the Performance API's ``performance.now()`` around the page's 200 pushes
  (what the page's own code waits for); ``page``: Chromium's own count of main-thread
  task time (DevTools Protocol ``Performance.getMetrics`` ``TaskDuration``) from the
  start of the page to 2.5 s after the pushes, which takes in everything the tracker
  does on the main thread: parsing and installing it, copying, batching, sending,
  reading the answers. The tracker's cost is each measure with it minus without it
  (budget <= 5 ms).
- **Requests**: how many ``POST /collect`` carried the 200 entries (budget <= 5), and
  that the collector stored all 200 (end to end: acknowledged and queryable).

    python bench/tracker.py            # 15 rounds of each page
    python bench/tracker.py --quick    # smoke run (CI): 2 rounds
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package: this folder goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import httpx  # noqa: E402

from common import serve  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ENTRIES = 200
SIZE_BUDGET = 6 * 1024
TIME_BUDGET_MS = 5.0
REQUEST_BUDGET = 5
PUSHES = f"""
window.__pushes = function () {{
  var t0 = performance.now();
  for (var i = 0; i < {ENTRIES}; i++) {{
    dataLayer.push({{event: 'view_item', ecommerce: {{currency: 'EUR', value: 10,
      items: [{{item_id: 'sku-' + i, item_name: 'Item ' + i, price: 10, quantity: 1}}]}}}});
  }}
  return performance.now() - t0;
}};"""


def page(key: str, tracker: bool) -> str:
    tag = f'<script async src="/t.js" data-key="{key}"></script>' if tracker else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title>'
        f"<script>window.dataLayer = [];{PUSHES}</script>{tag}</head>"
        "<body><h1>A shop page</h1></body></html>"
    )


def tracker_ms(profile: dict[str, Any]) -> float:
    """Main-thread time with a frame of t.js on the stack (its own code and what it calls:
    fetch, storage, cookies, JSON), from a sampled CPU profile."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    ours: dict[int, bool] = {}

    def in_tracker(node_id: int) -> bool:
        if node_id not in ours:
            frame = nodes[node_id]["callFrame"]
            up = parent.get(node_id)
            ours[node_id] = frame["url"].endswith("/t.js") or (up is not None and in_tracker(up))
        return ours[node_id]

    return (
        sum(d for s, d in zip(profile["samples"], profile["timeDeltas"], strict=True) if in_tracker(s)) / 1000
    )


def one_round(browser: Any, url: str, html: str, tracker: bool, profile: bool = False) -> dict[str, float]:
    context = browser.new_context()
    requests: list[int] = []
    context.on("request", lambda r: requests.append(1) if r.url.endswith("/collect") else None)
    p = context.new_page()
    p.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    cdp = context.new_cdp_session(p)
    cdp.send("Performance.enable")
    if profile:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 100})
        cdp.send("Profiler.start")
    p.goto(url)
    if tracker:
        p.wait_for_function("window.trackway && window.trackway.installed")
    else:
        p.wait_for_load_state("load")
    pushes = float(p.evaluate("window.__pushes()"))
    p.wait_for_timeout(2500)  # the batches' timers, the sends and their answers
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    own = tracker_ms(cdp.send("Profiler.stop")["profile"]) if profile else 0.0
    context.close()
    return {
        "pushes_ms": pushes,
        "page_ms": metrics["TaskDuration"] * 1000,
        "requests": len(requests),
        "tracker_ms": own,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rounds")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    from playwright.sync_api import sync_playwright

    with serve(1, defaults=True) as server, sync_playwright() as pw:
        key = _collect_key(server.data)
        size = len(httpx.get(server.url + "/t.js", headers={"Accept-Encoding": "gzip"}).content)
        gz = _gzipped_size(server.url)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        try:
            for n in range(rounds):
                for tracker in (n % 2 == 0, n % 2 != 0):  # alternate which goes first
                    url = f"{server.url}/bench/{'with' if tracker else 'without'}-{n}"
                    results[tracker].append(one_round(browser, url, page(key, tracker), tracker))
            profiled = [
                one_round(browser, f"{server.url}/bench/profiled-{n}", page(key, True), True, profile=True)
                for n in range(rounds)
            ]
        finally:
            browser.close()
        stored = server.count()
    med = {t: {k: statistics.median(r[k] for r in results[t]) for k in results[t][0]} for t in results}
    pushes = med[True]["pushes_ms"] - med[False]["pushes_ms"]
    page_ms = med[True]["page_ms"] - med[False]["page_ms"]
    requests = max(r["requests"] for r in results[True])
    own = statistics.median(r["tracker_ms"] for r in profiled)
    print(f"t.js: {gz} bytes gzipped ({size} as inflated by the client); budget {SIZE_BUDGET}")
    print(f"rounds: {rounds} of each page, {ENTRIES} dataLayer pushes each")
    print(
        f"pushes (performance.now around them): {med[True]['pushes_ms']:.2f} ms with the tracker, "
        f"{med[False]['pushes_ms']:.2f} ms without: +{pushes:.2f} ms"
    )
    print(
        f"page main-thread task time (TaskDuration): {med[True]['page_ms']:.1f} ms with, "
        f"{med[False]['page_ms']:.1f} ms without: +{page_ms:.1f} ms "
        f"(ratio {med[True]['page_ms'] / med[False]['page_ms']:.2f}); budget +{TIME_BUDGET_MS} ms"
    )
    print(
        f"tracker's own main-thread time (CPU profile, stacks with t.js, 100 us samples): {own:.1f} ms "
        f"(load, install, 200 pushes, batching, storage, sends, answers)"
    )
    print(f"requests for {ENTRIES} entries: at most {requests} (budget {REQUEST_BUDGET})")
    print(f"stored: {stored} events, expected {ENTRIES * rounds * 2}")
    failed = []
    if stored != ENTRIES * rounds * 2:
        failed.append("not every entry was stored")
    if requests > REQUEST_BUDGET:
        failed.append("too many requests")
    if gz > SIZE_BUDGET:
        failed.append("t.js over its size budget")
    met = "met" if pushes <= TIME_BUDGET_MS else "NOT met"
    print(f"budget +{TIME_BUDGET_MS} ms for the pushes (Performance API): {met}")
    met = "met" if own <= TIME_BUDGET_MS else "NOT met"
    print(f"budget +{TIME_BUDGET_MS} ms for everything the tracker runs on the main thread: {met}")
    if not args.quick and pushes > TIME_BUDGET_MS:
        failed.append("the pushes' main-thread time is over budget")
    if failed:
        raise SystemExit("FAILED: " + "; ".join(failed))


def _gzipped_size(url: str) -> int:
    with httpx.stream("GET", url + "/t.js", headers={"Accept-Encoding": "gzip"}) as r:
        return sum(len(chunk) for chunk in r.iter_raw())


def _collect_key(data: Path) -> str:
    import tomllib

    key: str = tomllib.loads((data / "trackway.toml").read_text())["properties"]["default"]["collect_key"]
    return key


if __name__ == "__main__":
    main()
