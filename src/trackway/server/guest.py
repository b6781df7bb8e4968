"""The browser tracker's guest id on ``POST /collect``: a first-party cookie, and the
ids a batch's calls carry.

For an envelope with ``"cookie": true`` (the tracker sends it; a server-side sender
does not, and its ids are left as it sends them), the collector keeps the guest id in
``tw_id``, an ``HttpOnly`` cookie (``SameSite=Lax``, ``Secure`` over TLS, 400 days, the
longest browsers keep one). Set by the server where the collector shares the page's
site (``collect.shop.example`` for ``shop.example``), it is not one of the
script-written cookies that tracking prevention caps at 7 days. The batch's guest id
is the envelope's ``anonymous_id`` when it names one (the tracker's copy, in its
storage), else the cookie's, else a new one; the answer gives it back, and the tracker
keeps it. So when tracking prevention wipes the tracker's storage, the cookie brings
the same id back.

Consent: when the batch's signals deny analytics, or the property's ``consent_required``
purposes are not all granted, no cookie is set, a cookie already there is expired, and
the answer names no id. The signals are the envelope's ``consent`` object with the
batch's consent commands layered over it (:func:`trackway.privacy.consent.merge_signals`).

Each call the tracker sends carries an ``id``: the ids of the call's events derive
from it (``ID``, then ``ID.1``, ``ID.2`` for a call giving several), so a batch sent
again after a lost answer (a beacon, a retry) is stored once: the store drops events
whose client-supplied id the property already has.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from trackway.config import Property
from trackway.model import Event
from trackway.privacy.consent import merge_signals, purposes
from trackway.privacy.prepare import cookieless
from trackway.server.http import Request

COOKIE = "tw_id"
MAX_AGE_S = 400 * 24 * 3600  # Chrome caps a cookie's lifetime at 400 days
_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def valid_id(value: Any) -> str | None:
    """``value`` when it can be a call or guest id (1-64 of ``A-Za-z0-9._:-``), else None."""
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def new_id() -> str:
    """A new guest id (a random UUID)."""
    return str(uuid.uuid4())


def cookie_id(request: Request) -> str | None:
    """The ``tw_id`` cookie's value, when the request has a valid one."""
    return valid_id(request.cookie(COOKIE))


def allowed(prop: Property, envelope_consent: Any, batch_consent: dict[str, str]) -> bool:
    """Whether the batch's consent lets the collector keep a guest id: analytics is not
    denied and every purpose the property requires is granted (``consent_default`` for
    those no signal speaks of)."""
    envelope = envelope_consent if isinstance(envelope_consent, dict) else None
    stated = purposes(merge_signals(None, batch_consent, envelope), prop.privacy.category_map)
    if stated is not None and stated.get("analytics") is False:
        return False
    return not cookieless(stated, prop.privacy)  # the property's own rule (privacy/prepare.py)


def set_cookie(request: Request, value: str | None) -> tuple[bytes, bytes]:
    """The ``Set-Cookie`` header keeping ``value`` (None: expiring the cookie)."""
    return request.set_cookie(COOKIE, value or "", MAX_AGE_S if value else 0, "Lax")


def call_ids(events: list[Event], call: str) -> None:
    """Give the events of call ``call`` their ids (those without one of their own)."""
    for n, event in enumerate(events):
        if not event.id:
            event.id = call if n == 0 else f"{call}.{n}"
