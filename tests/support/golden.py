"""Golden files of what a destination encoder sends, byte for byte.

A vendor's ``tests/vendors/<vendor>/cases.py`` holds a varied table of events; its
``golden.json`` the requests (URL, headers, event ids, body) and refusals the encoder
gave for each case alone and for all of them in one batch, when the file was written.
A rewrite of the encoder for speed must send the same bytes; after an intended change of
the output, write the file again with the case module's ``write_golden`` and review its diff.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from trackway.amounts import AMOUNT_FIELDS
from trackway.destinations.base import Encoder
from trackway.model import Commerce, Event, Item

SHOWN = 4096  # bodies up to this many bytes are kept as text, longer ones as their SHA-256

# Items the vendors' case tables share: a price below any currency's unit, and a NaN one.
TINY = Item(item_id="T", price=Decimal("1E-7"), quantity=3)
NAN_PRICE = Item(item_id="N", price=Decimal("NaN"), quantity=1)


def commerce(**kw: Any) -> Commerce:
    """A commerce part whose amounts may be given as strings (``value="12.50"``)."""
    return Commerce(
        **{k: Decimal(v) if isinstance(v, str) and k in AMOUNT_FIELDS else v for k, v in kw.items()}
    )


def rendered(
    encoder: Encoder, events: list[Event], options: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """What ``encoder`` sends for ``events`` (bodies longer than :data:`SHOWN` as their hash)."""
    out = encoder.encode(events, options, now)
    requests = []
    for r in out.requests:
        body: str | dict[str, Any] = r.body.decode()
        if len(r.body) > SHOWN:
            body = {"bytes": len(r.body), "sha256": hashlib.sha256(r.body).hexdigest()}
        request = {"url": r.url, "headers": dict(r.headers), "events": list(r.events), "body": body}
        if r.order_key is not None:
            request["order_key"] = r.order_key
        requests.append(request)
    return {"requests": requests, "refused": [[x.event, x.reason] for x in out.refused]}


def write(path: Path, renderings: dict[str, Any]) -> None:
    path.write_text(json.dumps(renderings, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return out
