"""An ASGI HTTP scope as uvicorn gives one to an app: the tests that call an app directly
(without a server or httpx's ASGI transport) build theirs here."""

from __future__ import annotations

from typing import Any


def http_scope(
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    *,
    query: bytes = b"",
    raw_path: bytes | None = None,
    client: tuple[str, int] = ("203.0.113.9", 5000),
    server: tuple[str, int] = ("127.0.0.1", 8080),
) -> dict[str, Any]:
    """An HTTP/1.1 request's scope (ASGI 3); ``raw_path`` is ``path`` in UTF-8 unless given."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode() if raw_path is None else raw_path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": server,
    }
