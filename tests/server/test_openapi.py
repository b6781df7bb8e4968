"""trackway.server.openapi: what the document tells an integrator holds against the server."""

from __future__ import annotations

import pytest

from tests.server.test_secrets import _harness
from tests.support.inproc import harness
from trackway.server.openapi import document

pytestmark = pytest.mark.anyio


def _admin_operations() -> list[tuple[str, str, dict]]:
    doc = document()
    return [(p, m, op) for p, ops in doc["paths"].items() if p.startswith("/api/") for m, op in ops.items()]


def test_the_admin_api_asks_for_a_bearer_token_and_offers_no_token_in_the_url():
    # it listed a `token` query parameter, which the server refuses with a 401
    doc = document()
    scheme = doc["components"]["securitySchemes"]["adminToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operations = _admin_operations()
    assert operations
    for path, method, op in operations:
        assert op["security"] == [{"adminToken": []}], (path, method)
        assert "token" not in {p.get("name") for p in op.get("parameters", [])}, (path, method)


async def test_a_token_in_the_url_is_refused_as_the_document_says(tmp_path):
    h = await harness(tmp_path)
    try:
        r = await h.client.get("/api/events", params={"token": h.keys()["admin_token"]})
        assert r.status_code == 401 and "Authorization: Bearer" in r.json()["error"]
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()


@pytest.mark.parametrize("path", ["/api/events", "/api/failed_events", "/api/export"])
async def test_an_unknown_property_is_a_404_the_document_lists(tmp_path, path):
    h = await harness(tmp_path, server={"admin_token": "twa_openapi_server_token"})
    try:
        r = await h.client.get(
            path, params={"property": "nosuch"}, headers={"Authorization": "Bearer twa_openapi_server_token"}
        )
        assert r.status_code == 404, r.text
        assert "404" in document()["paths"][path]["get"]["responses"]  # schemathesis checks each status
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()


async def test_metrics_without_a_token_when_not_public_is_a_401_the_document_lists(tmp_path):
    h = await _harness(tmp_path, metrics_public=False)
    try:
        r = await h.client.get("/metrics")
        assert r.status_code == 401 and "metrics_public" in r.json()["error"]
        assert "401" in document()["paths"]["/metrics"]["get"]["responses"]
    finally:
        await h.client.aclose()
        h.writer.close()
        h.store.close()
