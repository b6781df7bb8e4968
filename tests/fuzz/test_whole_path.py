"""Hypothesis over every endpoint: hostile requests through the whole path.

Each example is a valid request of the endpoint's dialect made hostile
(tests/fuzz/wire.py, tests/fuzz/hostile.py), sent through the real app, log, loader,
store, reports and export (tests/fuzz/harness.py). Whatever it is, the answer is not a
5xx, no exception leaves the app, the loader loads it (the log lag is 0 after) and the
reports and export still run. Findings are also written to /tmp/fuzz-findings.md.

``TRACKWAY_FUZZ_EXAMPLES`` (default 50) sets the examples per endpoint; the run is
derandomized (reproducible); ``TRACKWAY_FUZZ_SHRINK=1`` shrinks a failing example.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz import findings, wire
from tests.fuzz.harness import ADMIN_TOKEN, Outcome, Pipeline, Req
from trackway.store import keyed

EXAMPLES = int(os.environ.get("TRACKWAY_FUZZ_EXAMPLES", "50"))
PHASES = [Phase.explicit, Phase.generate] + ([Phase.shrink] if os.environ.get("TRACKWAY_FUZZ_SHRINK") else [])
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=PHASES,
    suppress_health_check=list(HealthCheck),
)
TEXT = st.text(st.characters(exclude_categories=()), max_size=24)


class Drawn:
    """hostile.Chooser over hypothesis's draws (so failing examples shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def index(self, n: int) -> int:
        return self.data.draw(st.integers(0, n - 1)) if n > 1 else 0

    def text(self) -> str:
        return self.data.draw(TEXT)


@pytest.fixture(scope="module", params=["join", "index"])
def pipeline(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    # The loader reads and writes a large table through its indexes and a small one by a
    # join (store/keyed.py): the whole path is fuzzed both ways.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keyed, "ROWS_PER_KEY", 0 if request.param == "index" else 10**12)
        p = Pipeline(tmp_path_factory.mktemp("fuzz"), reports="stored")
        yield p
        p.shutdown()


@pytest.fixture(scope="module")
def pools(pipeline: Pipeline) -> dict[str, list[Any]]:
    return wire.seeds(pipeline.keys())


def explain(out: Outcome) -> str:
    tail = "\n".join("\n".join(t.strip().splitlines()[-6:]) for t in out.tracebacks())
    return f"{'; '.join(out.problems())}\nstatus {out.status}; input {out.req.short(300)}\n{tail}"


@pytest.mark.parametrize("endpoint", wire.ENDPOINTS)
def test_no_request_breaks_the_whole_path(
    pipeline: Pipeline, pools: dict[str, list[Any]], endpoint: str
) -> None:
    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        req = wire.build(Drawn(data), endpoint, pools[endpoint], pipeline.keys(), ADMIN_TOKEN)
        out = pipeline.send(req)
        findings.tally("hypothesis", endpoint, out)
        findings.note(out, f"hypothesis, {endpoint}")
        assert not out.problems(), explain(out)

    check()
    assert findings.TRIED["hypothesis", endpoint, "requests"] >= min(EXAMPLES, 10)


def _valid_event(pipeline: Pipeline, event_id: str) -> Req:
    keys = pipeline.keys("other")
    event = {
        "event_name": "search",
        "search_term": "x",
        "user": {"id": "u1", "consent_categories": [1]},
        "context": {"event_id": event_id, "event_timestamp": int(time.time() * 1000)},
    }
    body = json.dumps(event).encode()
    query = f"tc_s={keys['commanders_act_site']}&token={keys['commanders_act_token']}"
    return Req("POST", "/events", query.encode(), ((b"content-type", b"application/json"),), body)


@FUZZ
@given(data=st.data(), endpoint=st.sampled_from(wire.ENDPOINTS[:-1]))
def test_one_propertys_bad_record_never_delays_another(
    pipeline: Pipeline, pools: dict[str, list[Any]], data: st.DataObject, endpoint: str
) -> None:
    """A hostile request to the default property, not loaded yet, then a valid event of
    the other: one load stores the valid event whatever the hostile one was."""
    hostile = pipeline.send(
        wire.build(Drawn(data), endpoint, pools[endpoint], pipeline.keys(), ADMIN_TOKEN), load=False
    )
    findings.tally("hypothesis", endpoint, hostile)
    event_id = f"isolation-{pipeline.sent}"
    out = pipeline.send(_valid_event(pipeline, event_id))
    findings.note(out, f"hypothesis, {endpoint} then a valid /events of another property")
    assert out.status == 200, explain(out)
    query = "SELECT count(*) FROM events WHERE property = 'other' AND id = ?"
    [(stored,)] = pipeline.store.cursor().execute(query, [event_id]).fetchall()
    assert stored == 1, (
        f"the other property's event was not stored after {hostile.req.short(300)}\n{explain(out)}"
    )
