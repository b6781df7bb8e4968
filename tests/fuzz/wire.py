"""Requests for every endpoint, started from valid ones and made hostile.

:func:`seeds` takes the demo generator's traffic (valid requests of every dialect) and
the package's examples as parsed values per endpoint; :func:`build` picks one, mutates
it (tests/fuzz/hostile.py) and wraps it as the endpoint expects: the keys where that
endpoint reads them (or wrong or missing ones, now and then), a content type, gzip
(a bomb too), a body split over several messages, odd headers.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fuzz import hostile
from tests.fuzz.harness import Req
from trackway import reports
from trackway.demo import generate

ENDPOINTS = (
    "/mp/collect",
    "/debug/mp/collect",
    "/events",
    "/events/batch",
    "/watch/event",
    "/collect",
    "/api",
    "/signin",
)
PER_ENDPOINT = 12
CONTENT_TYPES = (
    b"application/json",
    b"text/plain;charset=UTF-8",
    b"application/x-www-form-urlencoded",
    b"application/json; charset=utf-16",
    b"multipart/form-data; boundary=x",
    b"",
    b"\xff\xfe/\x00",
    b"APPLICATION/JSON ; q=1",
)
API_PATHS = (
    "/api/events",
    "/api/failed_events",
    "/api/export",
    "/api/identity",
    "/api/subject",
    "/api/event",
    "/api/person",
    "/api/setup",
    "/api/destinations",
    "/api/session",
    "/api/validate",
    *(f"/api/reports/{name}" for name in reports.NAMES),
    "/api/nope",
)
API_PARAMS = ("property", "limit", "since", "until", "name", "code", "table", "after_time", "after_id", "id")
API_PARAMS += ("user", "email", "replayed", "by", "steps", "window", "abandon_after", "include", "token")
API_PARAMS += ("person_id", "format", "base", "wait", "at", "section")
BOMB = gzip.compress(b"0" * (20 << 20), 9)  # 20 MB inflated, 20 kB sent


def seeds(keys: dict[str, str]) -> dict[str, list[Any]]:
    """Valid bodies per endpoint as parsed values (Convead: the form's fields, ``data`` parsed)."""
    names = {"default": "shop", "other": "donations"}
    dataset = generate(seed=11, sessions=40, end=datetime(2026, 10, 31, tzinfo=UTC), properties=names)
    found: dict[str, list[Any]] = {e: [] for e in ENDPOINTS}
    for r in dataset.requests({"default": keys, "other": keys}):
        bucket = found[r.path]
        if len(bucket) < PER_ENDPOINT:
            if r.path == "/watch/event":
                fields = dict(parse_qsl((r.body or b"").decode() or urlencode(r.query)))
                fields["data"] = json.loads(fields.get("data", "{}"))
                bucket.append(fields)
            else:
                bucket.append(json.loads(r.body or b"null"))
    examples = resources.files("trackway.examples")
    mp = json.loads(examples.joinpath("mp-purchase.json").read_text())
    found["/mp/collect"].append(mp)
    found["/debug/mp/collect"] = found["/mp/collect"]
    found["/collect"].append(
        {"key": keys["collect_key"], "events": json.loads(examples.joinpath("broken.json").read_text())}
    )
    found["/collect"].append(
        {
            "key": keys["collect_key"],
            "events": [json.loads(examples.joinpath("gtm-ga4-purchase.json").read_text())],
        }
    )
    found["/collect"].append(  # the browser tracker's envelope: calls with ids, consent, vendor ids
        {
            "key": keys["collect_key"],
            "anonymous_id": "g-1",
            "consent": {"analytics_storage": "granted", "koalect_consent": "functional analytics"},
            "ids": {"convead_guest_uid": "cv-1", "ga_client_id": "123.456"},
            "events": [
                {
                    "id": "view.1",
                    "payload": json.loads(examples.joinpath("gtm-ga4-purchase.json").read_text()),
                },
                {
                    "id": "view.2",
                    "dialect": "commanders-act",
                    "payload": ["trigger", "search", {"search_term": "x"}],
                },
            ],
        }
    )
    found["/api"] = [{"since": "30d", "limit": "100"}, {"steps": "view_item,add_to_cart,purchase"}]
    found["/signin"] = [{"token": keys["admin_token"]}, {"token": ""}, {"code": "x"}]
    return found


def _headers(c: hostile.Chooser, kind: bytes | None, gzipped: bool) -> list[tuple[bytes, bytes]]:
    out = [] if kind is None else [(b"content-type", kind)]
    if gzipped:
        out.append((b"content-encoding", b"gzip"))
    extra = c.index(13)
    if extra == 12:  # the tracker's guest id cookie, as a browser would send it, or not
        out.append((b"cookie", b"a=1; tw_id=" + c.text().encode("utf-8", "surrogatepass")))
    elif extra == 9:
        out.append((b"content-encoding", (b"br", b"GZIP ", b"identity", b"\xff")[c.index(4)]))
    elif extra == 10:
        out.append((b"user-agent", b"\xff\xfe" * 2_000 + c.text().encode("utf-8", "surrogatepass")))
    elif extra == 11:
        out.append((b"x-" + b"a" * 100, b"b" * 100_000))
    return out


def _body(c: hostile.Chooser, value: Any) -> tuple[bytes, bool]:
    """The body's bytes and whether they are gzip (a bomb now and then)."""
    body = hostile.encode(c, value)
    way = c.index(14)
    if way == 11:
        return gzip.compress(body), True
    if way == 12:
        return BOMB, True
    if way == 13:
        return body, True  # declared gzip, sent plain
    return body, False


def build(c: hostile.Chooser, endpoint: str, pool: list[Any], keys: dict[str, str], admin: str) -> Req:
    """A hostile request to ``endpoint`` from one of ``pool`` (its seeds)."""
    value = hostile.mutate(c, pool[c.index(len(pool))], c.index(4))
    if endpoint == "/api":
        return _api(c, value, keys, admin)
    if endpoint == "/signin":
        return _signin(c, value)
    key_ok = c.index(8) != 7
    if endpoint == "/watch/event":
        fields = value if isinstance(value, dict) else {"data": value}
        form = {str(k): v if isinstance(v, str) else hostile.dumps(v) for k, v in fields.items()}
        if key_ok:
            form["app_key"] = keys["convead_app_key"]
        encoded = urlencode(form, errors="surrogatepass").encode()
        if c.index(4) == 0:
            return Req("POST", endpoint, query=encoded, headers=tuple(_headers(c, None, False)))
        body, gzipped = (encoded, False) if c.index(3) != 2 else _body(c, hostile.Raw(encoded.decode()))
        kind = (b"application/x-www-form-urlencoded", b"text/plain", b"", b"application/json")[c.index(4)]
        return Req(
            "POST", endpoint, headers=tuple(_headers(c, kind, gzipped)), body=body, chunks=1 + c.index(3)
        )
    query: dict[str, str] = {}
    if endpoint == "/collect" and key_ok and isinstance(value, dict):
        value["key"] = keys["collect_key"]
    elif endpoint == "/mp/collect" and key_ok:
        query = {"measurement_id": keys["ga4_measurement_id"], "api_secret": keys["ga4_api_secret"]}
    elif endpoint == "/debug/mp/collect":
        query = {"measurement_id": c.text(), "api_secret": c.text()}
    body, gzipped = _body(c, value)
    headers = _headers(
        c, CONTENT_TYPES[c.index(len(CONTENT_TYPES))] if c.index(4) == 3 else b"application/json", gzipped
    )
    if endpoint in ("/events", "/events/batch") and key_ok:
        query = {"tc_s": keys["commanders_act_site"]}
        token = keys["commanders_act_token"]
        way = c.index(3)
        if way == 1:
            headers.append((b"authorization", b"Bearer " + token.encode()))
        else:
            query["token"] = token if way == 0 else token + c.text()
    return Req(
        "POST",
        endpoint,
        urlencode(query, errors="surrogatepass").encode(),
        tuple(headers),
        body,
        chunks=1 + c.index(3),
    )


def _signin(c: hostile.Chooser, value: Any) -> Req:
    """The dashboard's sign-in: a one-time code in the query, or a token in a JSON body,
    from this page or another site, with a session cookie or not."""
    headers = (
        [(b"cookie", b"tw_session=" + c.text().encode("utf-8", "surrogatepass"))] if c.index(3) == 0 else []
    )
    if c.index(3) == 0:
        query = urlencode({"code": c.text() if c.index(2) else hostile.dumps(value)}, errors="surrogatepass")
        return Req("GET", "/signin", query.encode(), tuple(headers))
    if c.index(4) == 0:
        headers.append((b"origin", c.text().encode("utf-8", "surrogatepass")))
    body, gzipped = _body(c, value)
    return Req("POST", "/signin", b"", tuple(_headers(c, b"application/json", gzipped) + headers), body)


def _api(c: hostile.Chooser, value: Any, keys: dict[str, str], admin: str) -> Req:
    path = API_PATHS[c.index(len(API_PATHS))]
    params = value if isinstance(value, dict) else {}
    query = {str(k): v if isinstance(v, str) else hostile.dumps(v) for k, v in params.items()}
    for _ in range(c.index(3)):
        name = API_PARAMS[c.index(len(API_PARAMS))]
        query[name] = c.text() if c.index(3) != 2 else hostile.dumps(hostile.leaf(c))
    if c.index(6) == 5:
        query["steps"] = ",".join(f"step{n}" for n in range(c.index(40)))
    token = (admin, keys["admin_token"], c.text())[c.index(3)]
    headers = [(b"authorization", b"Bearer " + token.encode("utf-8", "surrogatepass"))]
    if c.index(5) == 0:  # a dashboard session instead: a forged cookie, and a CSRF token or none
        headers = [(b"cookie", b"tw_session=" + c.text().encode("utf-8", "surrogatepass"))]
        headers += [(b"x-csrf-token", c.text().encode("utf-8", "surrogatepass"))] if c.index(2) else []
    method = "GET" if c.index(6) != 5 else ("POST", "PUT", "OPTIONS")[c.index(3)]
    encoded = urlencode(query, encoding="utf-8", errors="surrogatepass").encode()
    body = b""
    if path == "/api/validate":  # the validator's text: a pasted snippet, mutated
        method = "POST"
        text = value if isinstance(value, str) else f"dataLayer.push({hostile.dumps(value)});"
        body = hostile.encode(c, {"text": text, "dialect": ("auto", c.text())[c.index(2)]})
    return Req(method, path, encoded, tuple(headers), body)
