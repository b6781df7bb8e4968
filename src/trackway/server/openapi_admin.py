"""The OpenAPI paths of the admin API beyond its reads of events (server/openapi.py):
the reports, people (identity, person, subject export, forget), replays, the
quarantine, validation and dead letters. Plain data.

Left out: ``/api/sql`` and ``/api/rebuild``, which are answered on the server's socket
only (``trackway sql``, ``trackway rebuild``; over HTTP, 405), and ``GET /api/live``, a
stream (server-sent events) that ends only when the client leaves, which an OpenAPI
document cannot describe as an answer (docs/api.md describes it).
"""

from __future__ import annotations

from typing import Any

from trackway.reports import NAMES
from trackway.reports.params import FIELDS
from trackway.server.openapi_parts import body, errors, json_response, query

MAX_LIMIT = 10_000  # as server/admin.py's
_OBJ = {"type": "object"}
_ARRAY = {"type": "array", "items": _OBJ}
# A read or action on one property's data: bad input, no token, another property's token,
# nothing found, the store unavailable.
_LOOKUP = (400, 401, 403, 404, 503)
_WAIT = query("wait", description="0, false or no: answer at once, without waiting for the loader")


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _post(
    summary: str, request: dict[str, Any], answer: dict[str, Any], what: str, *codes: int
) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": body(request, "application/json"),
            "responses": {"200": json_response(answer, what)} | errors(*codes),
        }
    }


def _get(
    summary: str, params: list[dict[str, Any]], answer: dict[str, Any], what: str, *codes: int
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": [*params, _WAIT],
            "responses": {"200": json_response(answer, what)} | errors(*codes),
        }
    }


def paths() -> dict[str, Any]:
    people = [query("user", description="a user id"), query("email"), query("property")]
    return {
        **{f"/api/reports/{name}": _report(name) for name in sorted(NAMES)},
        "/api/identity": _get(
            "Every person an id belongs to: ids, links, conflicts, event counts",
            [query("id", required=True, description="an anonymous or user id"), query("property")],
            _obj(["people"], people=_ARRAY),
            "The people.",
            *_LOOKUP,
        ),
        "/api/person": _get(
            "People: ids, consent, carts, orders and latest events (by any id, or one by person_id)",
            [query("id"), query("property"), query("person_id")],
            _obj(["people"], people=_ARRAY),
            "The people.",
            *_LOOKUP,
        ),
        "/api/subject": _get(
            "Everything stored about one person (a subject access export)",
            people,
            _obj(["people"], people=_ARRAY),
            "The person's data.",
            *_LOOKUP,
        ),
        "/api/forget": _post(
            "Erase one person's identifiers everywhere (their events stay, anonymised)",
            _obj([], user={"type": "string"}, email={"type": "string"}, property={"type": "string"}),
            _obj(["people", "events"], people={"type": "integer"}, events={"type": "integer"}),
            "What was erased.",
            *_LOOKUP,
        ),
        "/api/replay": _post(
            "Validate failed payloads again after a configuration or rules fix",
            _obj([], property={"type": "string"}, code={"type": "string"}, since={"type": "string"}),
            _OBJ,
            "What was replayed, and what now loads.",
            *_LOOKUP,
        ),
        "/api/quarantine": _get(
            "The log records the loader could not load, oldest first",
            [
                query("property"),
                {**query("limit"), "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
            ],
            _obj(["quarantine", "total"], quarantine=_ARRAY, total={"type": "integer"}),
            "Quarantined records.",
            *_LOOKUP,
        ),
        "/api/quarantine/retry": _post(
            "Load quarantined records again ({ids: [...]} or {all: true})",
            _obj(
                [],
                ids={"type": "array", "items": {"type": "integer"}},
                all={"type": "boolean"},
                property={"type": "string"},
            ),
            _OBJ,
            "What loaded, what failed again, what was not found.",
            400,
            401,
            403,
            503,
        ),
        "/api/validate": _post(
            "Validate a payload as `trackway validate` does (nothing is stored)",
            _obj(
                ["text"],
                text={"type": "string"},
                dialect={"type": "string"},
                default_currency={"type": "string"},
            ),
            _OBJ,
            "The dialect read, the events and the issues.",
            400,
            401,
            403,
            413,
            503,
        ),
        "/api/destinations/retry": _post(
            "Send a destination's dead letters again ({destination, letter: N} or {destination, all: true})",
            _obj(
                ["destination"],
                destination={"type": "string", "description": "PROPERTY.NAME"},
                letter={"type": "integer"},
                all={"type": "boolean"},
            ),
            _OBJ,
            "What was sent and what is left.",
            *_LOOKUP,
        ),
    }


def _report(name: str) -> dict[str, Any]:
    params = [query(f) for f in FIELDS] + [
        {**query("format"), "schema": {"enum": ["json", "csv"]}},
        query("section", description="one section of the report"),
    ]
    answer = _obj(["report", "sections", "columns"], report={"type": "string"}, sections=_OBJ, columns=_OBJ)
    op = _get(f"The {name} report (docs/reports.md)", params, answer, "The report.", *_LOOKUP)
    op["get"]["responses"]["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    return op
