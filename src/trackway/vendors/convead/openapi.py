"""The OpenAPI paths of this vendor's endpoints (served in /openapi.json)."""

from __future__ import annotations

from typing import Any

from trackway.server.openapi_parts import ENCODING, ISSUE, errors, json_response, query


def paths() -> dict[str, Any]:
    return {
        "/watch/event": {
            "post": {
                "summary": "Convead and InSend tracker",
                "parameters": [
                    query("app_key"),
                    query("visitor_uid"),
                    query("guest_uid"),
                    query("data", description="JSON text of {type, properties, visitor_info}"),
                    ENCODING,
                ],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    k: {"type": "string"}
                                    for k in ("app_key", "visitor_uid", "guest_uid", "data")
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_response({"type": "object"}, "Stored."),
                    "400": json_response(
                        {
                            "type": "object",
                            "required": ["error"],
                            "properties": {
                                "error": {"type": "string"},
                                "issues": {"type": "array", "items": ISSUE},
                            },
                        },
                        "Invalid event (stored in failed_events) or unreadable form.",
                    ),
                }
                | errors(401, 413, 415, 503),
            }
        },
    }
