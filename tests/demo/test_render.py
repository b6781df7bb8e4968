"""The demo's wire rendering: each session through the renderer its dialect's vendor
declares (``Vendor.demo``), the events a wire form carries, and what each vendor adds."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from functools import partial

import pytest

import trackway
from tests.demo.support import END, keys_for
from trackway import dialects, vendors
from trackway.demo import Dataset, Request, Session, generate, render
from trackway.demo.events import CARRIED, canonical
from trackway.errors import UsageError
from trackway.vendors.ga4.gtm import GtmGa4

KEYS = keys_for("shop", "donations")


class Toy(GtmGa4):
    """A throw-away dialect: gtm-ga4's dataLayer objects under another name."""

    name = "toy"
    title = "Toy tracker"
    detect_order = 900


def toy_requests(session: Session, key: Mapping[str, str], *, client_time: bool) -> list[Request]:
    event = partial(canonical, dialect=session.dialect, carries={"id"})
    return render.collect(session, key, client_time=client_time, event=event)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(5, 400, end=END)


@pytest.fixture
def toy(request: pytest.FixtureRequest) -> Iterator[None]:
    """The Toy vendor registered, with the renderer the test's parameter names ("" for none)."""
    vendors.register(vendors.Vendor(name="toy", title="Toy", doc="", dialects=(Toy(),), demo=request.param))
    vendors.reset()
    yield
    vendors.unregister("toy")
    vendors.reset()


def gtm_session(dataset: Dataset) -> Session:
    return next(s for s in dataset.truth.sessions if s.dialect == "gtm-ga4" and len(s.actions) > 3)


def test_the_demo_sends_the_dialects_of_the_vendors_that_declare_a_renderer() -> None:
    declaring = {a.name for v in vendors.vendors() if v.demo for a in v.dialects}
    assert render.dialects() == [n for n in dialects.names() if n in declaring]
    assert render.dialects()  # the vendor packages declare renderers


@pytest.mark.parametrize("toy", ["tests.demo.test_render:toy_requests"], indirect=True)
@pytest.mark.usefixtures("toy")
def test_a_registered_vendor_renders_its_sessions(dataset: Dataset) -> None:
    assert "toy" in render.dialects()
    session = dataclasses.replace(gtm_session(dataset), dialect="toy")
    requests = render.session_requests(session, KEYS, client_time=False)
    assert [a for r in requests for a in r.actions] == session.actions
    for r in requests:
        assert r.path == "/collect" and r.dialect == "toy" and r.envelope()["dialect"] == "toy"
        for dialect, payload, (action,) in r.units():
            [event] = trackway.decode(dialect, payload, default_currency="EUR").events
            assert (event.name, event.id) == (action.name, action.event_id)


@pytest.mark.parametrize("toy", [""], indirect=True)
@pytest.mark.usefixtures("toy")
def test_a_session_in_a_dialect_without_a_renderer_says_how_to_declare_one(dataset: Dataset) -> None:
    assert "toy" in dialects.names() and "toy" not in render.dialects()
    session = dataclasses.replace(gtm_session(dataset), dialect="toy")
    with pytest.raises(UsageError) as caught:
        render.session_requests(session, KEYS)
    message = str(caught.value)
    assert f"session {session.id}" in message and "got 'toy'" in message
    assert "gtm-ga4" in message and 'demo="module:function"' in message


def test_the_registry_of_renderers_forgets_an_unregistered_vendor(dataset: Dataset) -> None:
    vendors.register(vendors.Vendor(name="toy", title="Toy", doc="", dialects=(Toy(),), demo="x:y"))
    vendors.reset()
    vendors.unregister("toy")
    vendors.reset()
    assert "toy" not in render.dialects()
    session = dataclasses.replace(gtm_session(dataset), dialect="toy")
    with pytest.raises(UsageError, match="'toy'"):
        render.session_requests(session, KEYS)


@pytest.mark.parametrize(
    "carries",
    [(), ("id",), ("timestamp",), ("ids",), ("id", "ids"), ("timestamp", "ids"), tuple(CARRIED)],
)
def test_canonical_keeps_what_the_wire_form_carries(dataset: Dataset, carries: tuple[str, ...]) -> None:
    a = next(a for a in dataset.truth.actions if a.anonymous_id and a.user_id and a.event_id)
    event = canonical(a, "gtm-ga4", carries)
    assert (event.id == a.event_id) is ("id" in carries) and (event.id == "") is ("id" not in carries)
    assert event.timestamp == (a.at if "timestamp" in carries else None)
    assert (event.anonymous_id, event.user_id) == (
        (a.anonymous_id, a.user_id) if "ids" in carries else (None, None)
    )


@pytest.mark.parametrize("carries", [("time",), ("id", "user_id"), ("",)])
def test_canonical_refuses_what_no_wire_form_carries(dataset: Dataset, carries: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r"expected carries among \['id', 'ids', 'timestamp'\]"):
        canonical(dataset.truth.actions[0], "gtm-ga4", carries)


@pytest.mark.parametrize("client_time", [False, True])
def test_collect_batches_consecutive_actions_with_the_same_ids(dataset: Dataset, client_time: bool) -> None:
    requests = [
        r for s in dataset.truth.sessions for r in render.session_requests(s, KEYS, client_time=client_time)
    ]
    collected = [r for r in requests if r.path == "/collect"]
    assert collected
    for r in collected:
        size = len(r.actions)
        assert 1 <= size <= (1 if client_time else render.COLLECT_BATCH)
        assert len({(a.anonymous_id, a.user_id, a.session) for a in r.actions}) == 1
        envelope = r.envelope()
        assert (envelope.get("anonymous_id"), envelope.get("user_id")) == (
            r.actions[0].anonymous_id,
            r.actions[0].user_id,
        )
        assert ("context" in envelope) is client_time
    assert any(len(r.actions) > 1 for r in collected) is not client_time


def test_adobe_dtm_products_carry_their_external_reference(dataset: Dataset) -> None:
    seen = 0
    for s in dataset.truth.sessions:
        if s.dialect != "adobe-dtm":
            continue
        for r in render.session_requests(s, KEYS):
            for _, payload, _ in r.units():
                for action in payload.get("ecommerce", {}).values():
                    for product in action.get("products", []) if isinstance(action, dict) else []:
                        if product.get("id"):
                            assert product["externalRef"] == "EXT-" + product["id"][4:], product
                            seen += 1
    assert seen


def test_a_koalect_donation_carries_its_procedure_in_ecommerce(dataset: Dataset) -> None:
    seen = 0
    for s in dataset.truth.sessions:
        if s.dialect != "koalect":
            continue
        for r in render.session_requests(s, KEYS):
            for _, payload, (action,) in r.units():
                if action.kind in ("purchase", "execution") and action.procedure and action.items:
                    ecommerce = payload["ecommerce"]
                    assert ecommerce["target_id"] == action.procedure.target_id
                    assert ecommerce["category"] == action.procedure.category
                    assert {"is_subscription", "target_type", "fee"} <= set(ecommerce)
                    seen += 1
    assert seen
