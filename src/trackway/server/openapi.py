"""The OpenAPI 3.1 document of the collector's HTTP API, served at ``/openapi.json``.

``tests/server/test_schemathesis.py`` runs schemathesis against a live server with
this document: no 5xx, and every answer matches what is written here.
"""

from __future__ import annotations

from typing import Any

from trackway import __version__


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/schemas/Error"}
ISSUE = {"$ref": "#/components/schemas/Issue"}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Unreadable body: the parser's message names the position.",
        401: "Unknown or missing key: nothing is stored.",
        403: "Forbidden for this token or origin.",
        405: "Wrong method (the Allow header lists the right ones).",
        413: "Body over the endpoint's limit (after gzip inflation).",
        415: "Unsupported Content-Type or Content-Encoding.",
        503: "Busy (Retry-After says when to retry) or shutting down.",
    }
    out = {str(c): _json(ERROR, text[c]) for c in codes}
    if 503 in codes:
        out["503"]["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    return out


def _body(schema: dict[str, Any], *types: str) -> dict[str, Any]:
    return {"required": True, "content": {t: {"schema": schema} for t in types}}


_QUERY = {"in": "query", "required": False, "schema": {"type": "string"}}


def _q(name: str, required: bool = False, description: str = "") -> dict[str, Any]:
    return {**_QUERY, "name": name, "required": required, "description": description}


def _h(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "in": "header",
        "name": name,
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


ENCODING = _h(
    "Content-Encoding",
    "gzip bodies are inflated; the size limit holds once inflated",
    enum=["gzip", "identity"],
)
ORIGIN = _h("Origin", "a browser's origin, checked against the property's cors_origins")


def document() -> dict[str, Any]:
    any_json: dict[str, Any] = {}
    mp_params = [
        _q("measurement_id", description="web stream"),
        _q("firebase_app_id"),
        _q("api_secret"),
        ENCODING,
    ]
    ca_params = [
        _q("tc_s", description="site id"),
        _q("token", description="source key (or Bearer)"),
        ENCODING,
    ]
    api_params = [
        _q("token", description="admin token (or Bearer)"),
        _q("property"),
        _q("since", description="ISO 8601 or an age: 24h, 7d"),
        _q("until"),
        {**_QUERY, "name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trackway collector",
            "version": __version__,
            "description": "Wire-compatible endpoints for vendors' tracking events; see docs/collector.md.",
        },
        "paths": {
            "/mp/collect": {
                "post": {
                    "summary": "GA4 Measurement Protocol",
                    "parameters": mp_params,
                    "requestBody": _body(any_json, "application/json", "text/plain"),
                    "responses": {"204": {"description": "Received (valid or not, as Google answers)."}}
                    | _errors(400, 401, 413, 415, 503),
                }
            },
            "/debug/mp/collect": {
                "post": {
                    "summary": "GA4 Measurement Protocol validation; stores nothing",
                    "parameters": mp_params,
                    "requestBody": _body(any_json, "application/json", "text/plain"),
                    "responses": {
                        "200": _json(
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
                    | _errors(400, 413, 415),
                }
            },
            "/events": _ca("Commanders Act server-side event", ca_params, {}),
            "/events/batch": _ca(
                'Commanders Act batch {"batch": [...]}',
                ca_params,
                {
                    "type": "object",
                    "required": ["batch"],
                    "properties": {"batch": {"type": "array", "items": {"type": "object"}}},
                },
            ),
            "/watch/event": {
                "post": {
                    "summary": "Convead and InSend tracker",
                    "parameters": [
                        _q("app_key"),
                        _q("visitor_uid"),
                        _q("guest_uid"),
                        _q("data", description="JSON text of {type, properties, visitor_info}"),
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
                        "200": _json({"type": "object"}, "Stored."),
                        "400": _json(
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
                    | _errors(401, 413, 415, 503),
                }
            },
            "/collect": {
                "post": {
                    "summary": "Trackway batch: any dialect's payloads",
                    "parameters": [_q("key"), ORIGIN, ENCODING],
                    "requestBody": _body(
                        {"$ref": "#/components/schemas/Batch"}, "application/json", "text/plain"
                    ),
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/BatchResult"}, "A result per payload.")
                    }
                    | _errors(400, 401, 403, 413, 415, 503),
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
            "/health": {
                "get": {
                    "summary": "The log and the store are writable",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Health"}, "Healthy."),
                        "503": _json({"$ref": "#/components/schemas/Health"}, "Not healthy."),
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
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
                }
            },
            "/api/events": {
                "get": {
                    "summary": "Recent canonical events, newest first",
                    "parameters": [*api_params, _q("name", description="event names, comma separated")],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["events"],
                                "properties": {"events": {"type": "array", "items": {"type": "object"}}},
                            },
                            "Events.",
                        )
                    }
                    | _errors(400, 401, 403, 503),
                }
            },
            "/api/failed_events": {
                "get": {
                    "summary": "Recent failed payloads with their issues, newest first",
                    "parameters": [
                        *api_params,
                        _q("code", description="issue codes, comma separated"),
                        _q("replayed"),
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["failed_events"],
                                "properties": {
                                    "failed_events": {"type": "array", "items": {"type": "object"}}
                                },
                            },
                            "Failed payloads.",
                        )
                    }
                    | _errors(400, 401, 403, 503),
                }
            },
            "/api/export": {
                "get": {
                    "summary": "A table in its JSON form, oldest first, a page at a time",
                    "parameters": [
                        *api_params,
                        {**_QUERY, "name": "table", "schema": {"enum": ["events", "failed_events"]}},
                        _q("name", description="event names, comma separated (events)"),
                        _q("code", description="issue codes, comma separated (failed_events)"),
                        _q("after_time", description="the cursor: received_at of the last row read"),
                        _q("after_id", description="the cursor: id of the last row read"),
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["rows", "total"],
                                "properties": {
                                    "rows": {"type": "array", "items": {"type": "object"}},
                                    "total": {"type": ["integer", "null"]},
                                },
                            },
                            "Rows, and the number of rows matching (first page only).",
                        )
                    }
                    | _errors(400, 401, 403, 503),
                }
            },
        },
        "components": {
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
                        "dialect": {"type": "string"},
                        "events": {"type": "array", "items": {}},
                    },
                },
                "BatchResult": {
                    "type": "object",
                    "required": ["accepted", "rejected", "results"],
                    "properties": {
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
        },
    }


def _ca(summary: str, params: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": params,
            "requestBody": _body(body, "application/json", "text/plain"),
            "responses": {
                "200": _json({"type": "object"}, "Received (invalid events go to failed_events)."),
                "400": _json(
                    ERROR, "Not JSON, or over 32 KB per event / 500 KB per batch (the vendor's answer)."
                ),
            }
            | _errors(401, 415, 503),
        }
    }
