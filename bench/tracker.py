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
- **Floor**: the same ``page`` measure for a script of t.js's size that does only what
  issue 16 requires of any tracker on the main thread, and nothing else: one
  ``localStorage`` read at start (the queue an earlier, offline visit left), a copy of
  each pushed entry (``JSON.stringify``: the page may change its objects after the
  push), and one ``fetch`` of the 200 copies, batched after the page's task as t.js
  does; once from the page and once handed to a Web Worker that sends it; and the
  copies alone. No page context, guest id, consent, retries or answers. Each is
  measured as t.js is, by ``TaskDuration`` and by its own CPU profile. At this scale
  ``TaskDuration`` medians of 15-20 rounds moved by 10 ms between runs (the floor gave
  +10.1 ms in one and +0.5 ms in the next): compare within a run, and trust the
  profiles more.
- **Against another commit** (``--against REV``): that commit's ``t.js``, built by that
  commit's own ``trackway/tracker`` module (its minifying, its first line), is served in
  place of this tree's and measured as this tree's is, in the same rounds: the ratio of
  the two CPU profiles is the change's effect, steadier than either figure alone.
- **Requests**: how many ``POST /collect`` carried the 200 entries (budget <= 5), and
  that the collector stored all 200 (end to end: acknowledged and queryable).

    python bench/tracker.py            # 15 rounds of each page
    python bench/tracker.py --quick    # smoke run (CI): 2 rounds
    python bench/tracker.py --against f8ca871    # this tree's t.js against that commit's
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package: this folder goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import httpx  # noqa: E402

from common import serve  # noqa: E402

sys.path.insert(0, str(HERE.parent))  # the tests' browser set-up: one place for its flags
from tests.tracker.browser import ARGS, CHROMIUM  # noqa: E402

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


# The floors: what any tracker meeting issue 16 must do on the main thread. Each copies
# the pushed entries and batches them after the page's task; "copies" stops there,
# "floor" also reads localStorage once and sends the batch with fetch, and "floor-worker"
# reads localStorage and hands the batch to a Web Worker (made at install) that sends it.
_COPIES = """
  var queue = [], timer = 0, dl = window.dataLayer, push = dl.push;
  dl.push = function () {
    for (var i = 0; i < arguments.length; i++) queue.push(JSON.stringify(arguments[i]));
    if (!timer) timer = setTimeout(flush, 0);
    return push.apply(dl, arguments);
  };
  function flush() { timer = 0; var body = "[" + queue.join(",") + "]"; queue = []; send(body); }"""
FLOORS = {
    "copies": "(function () {" + _COPIES + "\n  function send(body) { window.__sent = body.length; }\n})();",
    "floor": "(function () {"
    + _COPIES
    + """
  var kept = window.localStorage.getItem("trackway-floor");
  function send(body) { window.fetch("/bench-sink", {method: "POST", body: body}); }
})();""",
    "floor-worker": "(function () {"
    + _COPIES
    + """
  var kept = window.localStorage.getItem("trackway-floor");
  var code = "onmessage = function (e) { fetch(e.data[0], {method: 'POST', body: e.data[1]}); };";
  var worker = new Worker(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
  var sink = new URL("/bench-sink", location.href).href;
  function send(body) { worker.postMessage([sink, body]); }
})();""",
}


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


def one_round(
    browser: Any, url: str, html: str, noop: bytes | None = None, profile: bool = False
) -> dict[str, float]:
    """One page view: load, 200 pushes, 2.5 s for the batches to go and their answers to
    come. ``noop``: /t.js answered with this script instead (the same size: doing nothing,
    or the floor); the floor's sends go to /bench-sink, answered 204 by the browser."""
    context = browser.new_context()
    requests: list[int] = []
    context.on("request", lambda r: requests.append(1) if r.url.endswith("/collect") else None)
    p = context.new_page()
    p.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    if noop is not None:
        p.route("**/t.js", lambda route: route.fulfill(body=noop, content_type="text/javascript"))
        p.route("**/bench-sink", lambda route: route.fulfill(status=204))
    cdp = context.new_cdp_session(p)
    cdp.send("Performance.enable")
    if profile:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 100})
        cdp.send("Profiler.start")
    p.goto(url, wait_until="load")  # the load event waits for the async script to run
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
    parser.add_argument("--against", metavar="REV", help="also measure the t.js of this commit")
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    from playwright.sync_api import sync_playwright

    with serve(1, defaults=True) as server, sync_playwright() as pw:
        key = _collect_key(server.data)
        size = len(httpx.get(server.url + "/t.js", headers={"Accept-Encoding": "gzip"}).content)
        gz = _gzipped_size(server.url)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        plain = httpx.get(server.url + "/t.js").content
        noop = b"/*" + b"x" * max(len(plain) - 4, 0) + b"*/"
        scripts = {"noop": noop} | {name: _padded(code, len(plain)) for name, code in FLOORS.items()}
        if args.against:
            scripts[args.against] = built_at(args.against)
        kinds = ("none", "noop", *FLOORS, *([args.against] if args.against else []), "tracker")
        results: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
        try:
            for n in range(rounds):
                for kind in kinds[n % len(kinds) :] + kinds[: n % len(kinds)]:  # rotate the first
                    url = f"{server.url}/bench/{kind}-{n}"
                    html = page(key, kind != "none")
                    results[kind].append(one_round(browser, url, html, scripts.get(kind)))
            profiled: dict[str, list[dict[str, float]]] = {
                k: [] for k in ("tracker", *FLOORS, *([args.against] if args.against else []))
            }
            order = list(profiled)
            for n in range(rounds):  # the floors profiled too: the same measure, less noisy
                for kind in order[n % len(order) :] + order[: n % len(order)]:  # rotate the first
                    url = f"{server.url}/bench/profiled-{kind}-{n}"
                    got = one_round(browser, url, page(key, True), scripts.get(kind), profile=True)
                    profiled[kind].append(got)
        finally:
            browser.close()
        stored = server.count()
    med = {k: {m: statistics.median(r[m] for r in results[k]) for m in results[k][0]} for k in kinds}
    pushes = med["tracker"]["pushes_ms"] - med["none"]["pushes_ms"]
    work = med["tracker"]["page_ms"] - med["noop"]["page_ms"]
    loading = med["noop"]["page_ms"] - med["none"]["page_ms"]
    requests = max(r["requests"] for r in results["tracker"])
    own = statistics.median(r["tracker_ms"] for r in profiled["tracker"])
    owns = {k: statistics.median(r["tracker_ms"] for r in runs) for k, runs in profiled.items()}
    print(f"t.js: {gz} bytes gzipped ({size} as inflated by the client); budget {SIZE_BUDGET}")
    print(f"rounds: {rounds} of each page, {ENTRIES} dataLayer pushes each")
    print(
        f"pushes (performance.now around them): {med['tracker']['pushes_ms']:.2f} ms with the tracker, "
        f"{med['none']['pushes_ms']:.2f} ms without: +{pushes:.2f} ms"
    )
    print(
        "page main-thread task time (TaskDuration, load to 2.5 s after the pushes): "
        f"{med['none']['page_ms']:.1f} ms with no script, {med['noop']['page_ms']:.1f} ms with a script "
        f"of t.js's size that does nothing, {med['tracker']['page_ms']:.1f} ms with the tracker: "
        f"the tracker's work +{work:.1f} ms, loading a script of its size +{loading:.1f} ms"
    )
    for name in FLOORS:
        least = med[name]["page_ms"] - med["noop"]["page_ms"]
        print(
            f"{name} ({FLOOR_WORDS[name]}): TaskDuration +{least:.1f} ms over the do-nothing script; "
            f"its own main-thread time (CPU profile, as below) {owns[name]:.1f} ms"
        )
    print(
        f"tracker's own main-thread time (CPU profile, stacks with t.js, 100 us samples): {own:.1f} ms "
        f"(install, 200 pushes, batching, storage, sends, answers)"
    )
    pages = 2  # the tracker's, once measured and once profiled
    if args.against:
        pages = 4
        then = med[args.against]["page_ms"] - med["noop"]["page_ms"]
        its = owns[args.against]
        its_pushes = med[args.against]["pushes_ms"] - med["none"]["pushes_ms"]
        print(
            f"{args.against}'s t.js: TaskDuration +{then:.1f} ms over the do-nothing script; its own "
            f"main-thread time (CPU profile) {its:.1f} ms; this tree's / its: {own / its:.2f}x; "
            f"the pushes {its_pushes:+.2f} ms"
        )
    print(f"requests for {ENTRIES} entries: at most {requests} (budget {REQUEST_BUDGET})")
    print(f"stored: {stored} events, expected {ENTRIES * rounds * pages}")
    failed = []
    if stored != ENTRIES * rounds * pages:
        failed.append("not every entry was stored")
    if requests > REQUEST_BUDGET:
        failed.append("too many requests")
    if gz > SIZE_BUDGET:
        failed.append("t.js over its size budget")
    met = "met" if pushes <= TIME_BUDGET_MS else "NOT met"
    print(f"budget +{TIME_BUDGET_MS} ms for the pushes (Performance API): {met}")
    met = "met" if work <= TIME_BUDGET_MS else "NOT met"
    print(f"budget +{TIME_BUDGET_MS} ms for all the tracker's work on the main thread (TaskDuration): {met}")
    if not args.quick and pushes > TIME_BUDGET_MS:
        failed.append("the pushes' main-thread time is over budget")
    if failed:
        raise SystemExit("FAILED: " + "; ".join(failed))


FLOOR_WORDS = {
    "copies": "200 copies, batched; nothing stored or sent",
    "floor": "one localStorage read, 200 copies, one fetch",
    "floor-worker": "one localStorage read, 200 copies, one fetch from a Web Worker",
}


def built_at(rev: str) -> bytes:
    """The t.js that commit ``rev`` serves, built by that commit's own tracker module."""
    folder = Path(tempfile.mkdtemp(prefix="trackway-tracker-")) / "tracker_at_rev"
    folder.mkdir()
    for name in ("__init__.py", "t.js"):
        text = subprocess.run(
            ["git", "show", f"{rev}:src/trackway/tracker/{name}"],
            cwd=HERE.parent,
            capture_output=True,
            check=True,
        ).stdout
        (folder / name).write_bytes(text)
    spec = importlib.util.spec_from_file_location(folder.name, folder / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[folder.name] = module  # importlib.resources finds t.js beside it by this name
    spec.loader.exec_module(module)
    plain: bytes = module.script().plain
    return plain


def _padded(code: str, size: int) -> bytes:
    """``code`` and a comment: a script of ``size`` bytes, so that parsing costs the same."""
    return code.encode() + b"/*" + b"x" * max(size - len(code) - 4, 0) + b"*/"


def _gzipped_size(url: str) -> int:
    with httpx.stream("GET", url + "/t.js", headers={"Accept-Encoding": "gzip"}) as r:
        return sum(len(chunk) for chunk in r.iter_raw())


def _collect_key(data: Path) -> str:
    import tomllib

    key: str = tomllib.loads((data / "trackway.toml").read_text())["properties"]["default"]["collect_key"]
    return key


if __name__ == "__main__":
    main()
