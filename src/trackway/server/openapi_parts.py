"""Pieces of OpenAPI 3.1 objects, shared by the collector's document and the vendors'
endpoints (each vendor package documents its own paths). Plain data, no imports."""

from __future__ import annotations

from typing import Any


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/schemas/Error"}
ISSUE = {"$ref": "#/components/schemas/Issue"}


def errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Unreadable body: the parser's message names the position.",
        401: "Unknown or missing key: nothing is stored.",
        403: "Forbidden for this token or origin.",
        404: "Not found (or of a property this token does not read).",
        405: "Wrong method (the Allow header lists the right ones).",
        413: "Body over the endpoint's limit (after gzip inflation).",
        415: "Unsupported Content-Type or Content-Encoding.",
        503: "Busy (Retry-After says when to retry) or shutting down.",
    }
    out = {str(c): json_response(ERROR, text[c]) for c in codes}
    if 503 in codes:
        out["503"]["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    return out


def body(schema: dict[str, Any], *types: str) -> dict[str, Any]:
    return {"required": True, "content": {t: {"schema": schema} for t in types}}


QUERY = {"in": "query", "required": False, "schema": {"type": "string"}}


def query(name: str, required: bool = False, description: str = "") -> dict[str, Any]:
    return {**QUERY, "name": name, "required": required, "description": description}


def header(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "in": "header",
        "name": name,
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


ENCODING = header(
    "Content-Encoding",
    "gzip bodies are inflated; the size limit holds once inflated",
    enum=["gzip", "identity"],
)
ORIGIN = header("Origin", "a browser's origin, checked against the property's cors_origins")
