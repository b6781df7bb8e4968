"""The OpenAPI paths of this vendor's endpoints (served in /openapi.json)."""

from __future__ import annotations

from typing import Any

from trackway.server.openapi_parts import ENCODING, body, errors, json_response, query

PARAMETERS = [
    query("measurement_id", description="web stream"),
    query("firebase_app_id"),
    query("api_secret"),
    ENCODING,
]


def paths() -> dict[str, Any]:
    return {
        "/mp/collect": {
            "post": {
                "summary": "GA4 Measurement Protocol",
                "parameters": PARAMETERS,
                "requestBody": body({}, "application/json", "text/plain"),
                "responses": {"204": {"description": "Received (valid or not, as Google answers)."}}
                | errors(400, 401, 413, 415, 503),
            }
        },
        "/debug/mp/collect": {
            "post": {
                "summary": "GA4 Measurement Protocol validation; stores nothing",
                "parameters": PARAMETERS,
                "requestBody": body({}, "application/json", "text/plain"),
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["validationMessages"],
                            "properties": {
                                "validationMessages": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["fieldPath", "description", "validationCode"],
                                        "properties": {
                                            "fieldPath": {"type": "string"},
                                            "description": {"type": "string"},
                                            "validationCode": {"type": "string"},
                                        },
                                    },
                                }
                            },
                        },
                        "What Google's validation server would say.",
                    )
                }
                | errors(400, 413, 415),
            }
        },
    }
