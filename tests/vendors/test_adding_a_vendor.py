"""A vendor is added in one place: a package (here, this test's module) and its
declaration. Registered from the test suite, a throw-away vendor, with one dialect and
one wire endpoint, is found by every part that lists vendors (the dialect registry and
auto-detection, `trackway dialects`, the settings and keys, the routes, /openapi.json,
/collect and the generated docs) with no file outside this test touched."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

import trackway
from trackway import dialects, settings, vendors
from trackway.cli.main import cli
from trackway.dialects.base import Adapter, DecodeContext, EncodeOptions, EventDoc
from trackway.docs_gen import pages
from trackway.errors import ParseError
from trackway.issues import Issues
from trackway.model import Commerce, Event
from trackway.server.app import Collector
from trackway.server.http import HttpError, Request, Send, respond_json
from trackway.settings import Setting

pytestmark = pytest.mark.anyio


class Acme(Adapter):
    """Acme's tracker: ``{"acme": "order", "order_id": ..., "total": ..., "currency": ...}``."""

    name = "acme"
    title = "Acme tracker"
    detect_order = 500
    events = (EventDoc("order", "purchase", "an order"),)

    def sniff(self, payload: Any) -> int:
        return 100 if isinstance(payload, dict) and "acme" in payload else 0

    def decode(self, payload: Any, ctx: DecodeContext, issues: Issues) -> list[Event]:
        if payload.get("acme") != "order":
            issues.error("acme", "VALUE_INVALID", f"expected 'order', got {payload.get('acme')!r}")
            return []
        total = payload.get("total")
        if not isinstance(total, str):
            issues.error("total", "VALUE_INVALID", f"expected the total as a decimal string, got {total!r}")
            return []
        commerce = Commerce(
            transaction_id=str(payload.get("order_id", "")),
            value=Decimal(total),
            currency=payload.get("currency"),
        )
        return [Event(name="purchase", dialect=self.name, commerce=commerce)]

    def encode(self, event: Event, options: EncodeOptions, issues: Issues) -> Any:
        c = event.commerce
        return {"acme": "order", "order_id": c.transaction_id, "total": str(c.value), "currency": c.currency}


async def track(c: Collector, request: Request, send: Send) -> int:
    """``POST /acme/track?acme_key=...``: a JSON body in Acme's format."""
    prop = c.lookup(lambda cfg: cfg.keyring.find("acme", request.query.get("acme_key")))
    if prop is None:
        raise HttpError(401, "expected a property's acme_key in the query string, got none that is known")
    body = await request.read(10_000)
    try:
        decoded = trackway.decode("acme", body)
    except ParseError as exc:
        raise HttpError(400, f"expected a JSON body, got text that does not parse: {exc}") from None
    await c.commit_decoded(request, prop, decoded, body)
    await respond_json(send, 200, {"valid": decoded.valid})
    return 200


def openapi_paths() -> dict[str, Any]:
    return {
        "/acme/track": {"post": {"summary": "Acme tracker", "responses": {"200": {"description": "Stored."}}}}
    }


KEY = Setting(
    "acme_key", str, "", "The key of Acme requests.", secret=True, new=lambda: "acme_" + secrets.token_hex(8)
)
ACME = vendors.Vendor(
    name="acme",
    title="Acme",
    doc="# Acme\n\nA throw-away vendor of the test suite.",
    dialects=(Acme(),),
    endpoints=(vendors.Endpoint("/acme/track", {"POST": f"{__name__}:track"}),),
    openapi=f"{__name__}:openapi_paths",
    keys=(vendors.Key("acme", (KEY,)),),
)
ORDER = {"acme": "order", "order_id": "A-1", "total": "9.99", "currency": "EUR"}


@pytest.fixture(autouse=True)
def acme() -> Iterator[None]:
    vendors.register(ACME)
    vendors.reset()
    yield
    vendors.unregister("acme")
    vendors.reset()


def test_the_registry_lists_it_in_its_order_and_auto_detection_finds_it():
    assert "acme" in dialects.names()
    assert dialects.names().index("acme") == [a.detect_order for a in dialects.adapters()].index(500)
    decoded = trackway.decode("auto", ORDER)
    assert (decoded.dialect, decoded.valid) == ("acme", True)
    assert decoded.events[0].commerce.value == Decimal("9.99")
    assert trackway.convert(ORDER, "auto", "acme").payloads == [ORDER]
    assert trackway.convert(ORDER, "acme", "gtm-ga4").payloads[0]["ecommerce"]["transaction_id"] == "A-1"


def test_trackway_dialects_lists_it():
    result = CliRunner().invoke(cli, ["dialects"], catch_exceptions=False)
    assert result.exit_code == 0 and "acme" in result.output and "Acme tracker" in result.output


def test_its_key_is_a_property_setting_documented_and_generated(tmp_path):
    from trackway import config as configuration

    assert "acme_key" in {s.name for s in settings.PROPERTY}
    prop = configuration.add_property(tmp_path / "trackway.toml", "shop")
    assert prop["acme_key"].startswith("acme_") and prop.keys()["acme_key"] == prop["acme_key"]
    assert (
        configuration.load(tmp_path / "trackway.toml").keyring.find("acme", prop["acme_key"]).name == "shop"
    )
    docs = pages()
    assert "`acme_key`" in docs["configuration.md"] and "/acme/track" in docs["vendors/acme.md"]
    assert "dialects/acme.md" in docs


async def test_its_endpoint_openapi_and_collect_serve_it(h):
    openapi = (await h.client.get("/openapi.json")).json()
    assert "/acme/track" in openapi["paths"]
    r = await h.client.post(f"/acme/track?acme_key={h.keys()['acme_key']}", json=ORDER)
    assert (r.status_code, r.json()) == (200, {"valid": True})
    assert (await h.client.post("/acme/track?acme_key=nope", json=ORDER)).status_code == 401
    r = await h.client.post(
        "/collect", json={"key": h.keys()["collect_key"], "events": [ORDER, {"acme": "x"}]}
    )
    assert r.status_code == 200
    assert [x["dialect"] for x in r.json()["results"]] == ["acme", "acme"]
    stored = await h.events()
    assert {e.dialect for e in stored} == {"acme"}
    assert sorted(e.commerce.transaction_id for e in stored) == ["A-1", "A-1"]
    [failed] = await h.failed()
    assert failed.dialect == "acme" and [i["code"] for i in failed.issues] == ["VALUE_INVALID"]
