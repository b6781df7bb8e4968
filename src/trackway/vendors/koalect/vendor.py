"""# Koalect

Koalect's donation platform pushes its procedures, projects and actions to the
`dataLayer` (**koalect**): each step of a donation procedure, the checkout and the
transaction. No wire endpoint of its own: these payloads arrive in `/collect` batches.

Consent: Koalect's consent cookie, sent as `{"koalect_consent": "functional analytics
marketing"}`, grants the listed purposes and denies Koalect's others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trackway.vendors import Vendor
from trackway.vendors.koalect.adapter import Koalect
from trackway.vendors.koalect.schema import parse_consent_cookie

# The purposes Koalect's consent cookie speaks of (it has no personalization purpose).
PURPOSES = ("functional", "analytics", "marketing")


def read_consent(value: Any, category_map: Mapping[str, str]) -> dict[str, bool] | None:
    """The cookie's purposes: listed ones granted, Koalect's others denied."""
    if type(value) is not str:
        return None
    listed = parse_consent_cookie(value)
    return {purpose: purpose in listed for purpose in PURPOSES}


VENDOR = Vendor(
    name="koalect",
    title="Koalect",
    doc=__doc__ or "",
    dialects=(Koalect(),),
    consent={"koalect_consent": read_consent},
    demo="trackway.vendors.koalect.demo:requests",
)
