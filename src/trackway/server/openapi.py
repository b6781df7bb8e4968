"""The OpenAPI 3.1 document of the collector's HTTP API, served at ``/openapi.json``.

``tests/server/test_schemathesis.py`` runs schemathesis against a live server with
this document: no 5xx, and every answer matches what is written here.
"""

from __future__ import annotations

from typing import Any

from trackway import __version__, vendors
from trackway.server import openapi_admin
from trackway.server.openapi_parts import (
    ENCODING,
    ISSUE,
    ORIGIN,
    QUERY,
    body,
    errors,
    json_response,
    query,
)


def document() -> dict[str, Any]:
    """The whole document: the vendors' endpoints (each package documents its own), then
    Trackway's own: /collect, the operational endpoints and the admin API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trackway collector",
            "version": __version__,
            "description": (
                "Wire-compatible endpoints for vendors' tracking events; "
                "see docs/architecture.md and docs/api.md."
            ),
        },
        "paths": vendors.openapi_paths()
        | _collect()
        | _operations()
        | _secured(_admin_api() | openapi_admin.paths()),
        "components": {**_components(), "securitySchemes": {"adminToken": ADMIN_TOKEN}},
    }


def _collect() -> dict[str, Any]:
    return {
        "/collect": {
            "post": {
                "summary": "Trackway batch: any dialect's payloads",
                "parameters": [query("key"), ORIGIN, ENCODING],
                "requestBody": body({"$ref": "#/components/schemas/Batch"}, "application/json", "text/plain"),
                "responses": {
                    "200": json_response(
                        {"$ref": "#/components/schemas/BatchResult"}, "A result per payload."
                    )
                }
                | errors(400, 401, 403, 413, 415, 503),
            },
            "options": {
                "summary": "CORS preflight",
                "parameters": [ORIGIN],
                "responses": {
                    "204": {"description": "Origin allowed."},
                    "403": {"description": "Origin not allowed."},
                },
            },
        },
    }


def _operations() -> dict[str, Any]:
    """/health, /metrics and this document."""
    return {
        "/health": {
            "get": {
                "summary": "The log and the store are writable",
                "responses": {
                    "200": json_response({"$ref": "#/components/schemas/Health"}, "Healthy."),
                    "503": json_response({"$ref": "#/components/schemas/Health"}, "Not healthy."),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "Text format 0.0.4",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                }
                | errors(401),
            }
        },
        "/t.js": {
            "get": {
                "summary": "The browser tracker (docs/tracker.md), minified; gzipped when accepted",
                "responses": {
                    "200": {
                        "description": "JavaScript, with an ETag and Cache-Control",
                        "content": {"text/javascript": {"schema": {"type": "string"}}},
                    },
                    "304": {"description": "Not modified (If-None-Match)."},
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": json_response({"type": "object"}, "OpenAPI 3.1")},
            }
        },
    }


# The admin API takes its token in the Authorization header only: a token in the URL is
# refused (401), so the document no longer offers a "token" query parameter.
# Rows cut short of `limit` by their size (store/base.py MAX_ROWS_BYTES, 32 MiB as Arrow).
TRUNCATED = {
    "type": "boolean",
    "description": "fewer rows than limit because they came to 32 MiB; read on with a cursor "
    "(/api/export's after_time and after_id) or a smaller limit",
}
ADMIN_TOKEN = {
    "type": "http",
    "scheme": "bearer",
    "description": "The server's admin_token or a property's (`trackway property list`), as "
    "Authorization: Bearer TOKEN; never in the URL",
}


def _secured(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` with every operation asking for the admin token."""
    return {
        path: {method: {**op, "security": [{"adminToken": []}]} for method, op in ops.items()}
        for path, ops in paths.items()
    }


def _admin_api() -> dict[str, Any]:
    """The read side of the admin API the workers forward (/api/*)."""
    api_params = [
        query("property"),
        query("since", description="ISO 8601 or an age: 24h, 7d"),
        query("until"),
        {**QUERY, "name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
    ]
    return {
        "/api/events": {
            "get": {
                "summary": "Recent canonical events, newest first",
                "parameters": [*api_params, query("name", description="event names, comma separated")],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["events"],
                            "properties": {
                                "events": {"type": "array", "items": {"type": "object"}},
                                "endpoints": {"type": "array", "items": {"type": "string"}},
                                "truncated": TRUNCATED,
                            },
                        },
                        "Canonical events, and the endpoint each came to (in step).",
                    )
                }
                | errors(400, 401, 403, 404, 503),
            }
        },
        "/api/failed_events": {
            "get": {
                "summary": "Recent failed payloads with their issues, newest first",
                "parameters": [
                    *api_params,
                    query("code", description="issue codes, comma separated"),
                    query("replayed"),
                ],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["failed_events"],
                            "properties": {
                                "failed_events": {"type": "array", "items": {"type": "object"}},
                                "truncated": TRUNCATED,
                            },
                        },
                        "Failed payloads.",
                    )
                }
                | errors(400, 401, 403, 404, 503),
            }
        },
        "/api/export": {
            "get": {
                "summary": "A table in its JSON form, oldest first, a page at a time",
                "parameters": [
                    *api_params,
                    {**QUERY, "name": "table", "schema": {"enum": ["events", "failed_events"]}},
                    query("name", description="event names, comma separated (events)"),
                    query("code", description="issue codes, comma separated (failed_events)"),
                    query("after_time", description="the cursor: received_at of the last row read"),
                    query("after_id", description="the cursor: id of the last row read"),
                ],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["rows", "total"],
                            "properties": {
                                "rows": {"type": "array", "items": {"type": "object"}},
                                "total": {"type": ["integer", "null"]},
                                "truncated": TRUNCATED,
                            },
                        },
                        "Rows, and the number of rows matching (first page only).",
                    )
                }
                | errors(400, 401, 403, 404, 503),
            }
        },
        **_dashboard_api(),
    }


def _dashboard_api() -> dict[str, Any]:
    """The dashboard's reads (server/admin_views.py)."""
    obj = {"type": "object"}
    array = {"type": "array", "items": obj}
    return {
        "/api/event": {
            "get": {
                "summary": "An event or a failed payload: payload, issues, canonical event, renders, person",
                "parameters": [
                    query("id", required=True, description="an id from /api/events or /api/failed_events"),
                    query("property"),
                ],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["kind", "id", "property", "payload", "issues", "event", "renders"],
                            "properties": {
                                "kind": {"enum": ["event", "failed"]},
                                "payload_source": {"enum": ["received", "rendered"]},
                                "issues": array,
                                "event": {"type": ["object", "null"]},
                                "renders": obj,
                                "person": obj,
                            },
                        },
                        "The event's detail.",
                    )
                }
                | errors(400, 401, 403, 404, 503),
            }
        },
        "/api/setup": {
            "get": {
                "summary": "Per property: keys, the tracker tag, a curl per endpoint, what each received",
                "parameters": [
                    query("base", description="the collector's URL as browsers reach it"),
                    query("property"),
                ],
                "responses": {
                    "200": json_response(
                        {"type": "object", "required": ["properties"], "properties": {"properties": array}},
                        "The setup of each property this token reads (the one named, when named).",
                    )
                }
                | errors(400, 401, 403, 404, 503),
            }
        },
        "/api/destinations": {
            "get": {
                "summary": "Forwarding: each destination's status and its first 50 dead letters",
                "parameters": [query("property")],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["destinations"],
                            "properties": {"destinations": array},
                        },
                        "Destinations (no secret in them).",
                    )
                }
                | errors(400, 401, 403, 503),
            }
        },
    }


def _components() -> dict[str, Any]:
    return {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            },
            "Issue": {
                "type": "object",
                "required": ["path", "code", "severity", "message"],
                "properties": {
                    "path": {"type": "string"},
                    "code": {"type": "string"},
                    "severity": {"enum": ["error", "warning"]},
                    "message": {"type": "string"},
                },
            },
            "Batch": {
                "type": "object",
                "required": ["key", "events"],
                "properties": {
                    "key": {"type": "string"},
                    "anonymous_id": {"type": "string"},
                    "user_id": {"type": "string"},
                    "context": {"type": "object"},
                    "consent": {"type": "object", "description": "consent signals (docs/tracker.md)"},
                    "ids": {
                        "type": "object",
                        "description": "the vendors' ids of the device, by name",
                        "additionalProperties": {"type": "string"},
                    },
                    "dialect": {"type": "string"},
                    "events": {
                        "type": "array",
                        "description": "payloads, or {payload, dialect?, id?} (a call id is deduplicated)",
                        "items": {},
                    },
                },
            },
            "BatchResult": {
                "type": "object",
                "required": ["accepted", "rejected", "results"],
                "properties": {
                    "anonymous_id": {"type": "string", "description": "the guest id kept (tw_id cookie)"},
                    "accepted": {"type": "integer"},
                    "rejected": {"type": "integer"},
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["index", "dialect", "accepted", "events", "issues"],
                            "properties": {
                                "index": {"type": "integer"},
                                "dialect": {"type": "string"},
                                "accepted": {"type": "boolean"},
                                "events": {"type": "array", "items": {"type": "string"}},
                                "issues": {"type": "array", "items": ISSUE},
                            },
                        },
                    },
                },
            },
            "Health": {
                "type": "object",
                "required": ["status", "log", "store"],
                "properties": {
                    "status": {"type": "string"},
                    "log": {"type": "string"},
                    "store": {"type": "string"},
                },
            },
        }
    }
