"""The OpenAPI paths of this vendor's endpoints (served in /openapi.json)."""

from __future__ import annotations

from typing import Any

from trackway.server.openapi_parts import ENCODING, ERROR, body, errors, json_response, query

PARAMETERS = [
    query("tc_s", description="site id"),
    query("token", description="source key (or Bearer)"),
    ENCODING,
]


def paths() -> dict[str, Any]:
    return {
        "/events": _ca("Commanders Act server-side event", PARAMETERS, {}),
        "/events/batch": _ca(
            'Commanders Act batch {"batch": [...]}',
            PARAMETERS,
            {
                "type": "object",
                "required": ["batch"],
                "properties": {"batch": {"type": "array", "items": {"type": "object"}}},
            },
        ),
    }


def _ca(summary: str, params: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": params,
            "requestBody": body(schema, "application/json", "text/plain"),
            "responses": {
                "200": json_response({"type": "object"}, "Received (invalid events go to failed_events)."),
                "400": json_response(
                    ERROR, "Not JSON, or over 32 KB per event / 500 KB per batch (the vendor's answer)."
                ),
            }
            | errors(401, 415, 503),
        }
    }
