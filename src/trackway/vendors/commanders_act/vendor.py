"""# Commanders Act

Commanders Act events in their two forms (**commanders-act**): `cact('trigger', ...)`
calls of the browser tag, and the server-side HTTP tracking API, `POST /events` and
`POST /events/batch` (answered as Commanders Act answers; the body is decoded by the
loader).

Keys: a property's `commanders_act_site` (`tc_s`) and `commanders_act_token` (the
source key, as `token` or `Authorization: Bearer`). Consent: Commanders Act's consent
categories (`{"categories": [...]}`) map to purposes through the property's
`consent_categories`.
"""

from __future__ import annotations

import secrets

from trackway.settings import Setting
from trackway.vendors import Endpoint, Key, Vendor
from trackway.vendors.commanders_act.adapter import CommandersAct
from trackway.vendors.commanders_act.consent import read_categories

VENDOR = Vendor(
    name="commanders_act",
    title="Commanders Act",
    doc=__doc__ or "",
    dialects=(CommandersAct(),),
    endpoints=(
        Endpoint("/events", {"POST": "trackway.vendors.commanders_act.endpoint:event"}),
        Endpoint("/events/batch", {"POST": "trackway.vendors.commanders_act.endpoint:batch"}),
    ),
    openapi="trackway.vendors.commanders_act.openapi:paths",
    demo="trackway.vendors.commanders_act.demo:requests",
    consent={"categories": read_categories},
    raw_event_lists={"commanders-act": "batch"},  # POST /events/batch (POST /events: one event)
    destinations={"commanders-act": "trackway.vendors.commanders_act.destination:ENCODER"},
    property_settings=(
        Setting(
            "consent_categories",
            dict,
            {},
            'Commanders Act consent category id -> purpose, such as {"1" = "analytics", "3" = '
            '"marketing"}; categories not listed are ignored.',
        ),
    ),
    keys=(
        Key(
            "commanders_act",
            (
                Setting(
                    "commanders_act_site",
                    str,
                    "",
                    "The site id `tc_s` of Commanders Act requests.",
                    new=lambda: str(1000 + secrets.randbelow(9_000_000)),
                ),
                Setting(
                    "commanders_act_token",
                    str,
                    "",
                    "The source key of Commanders Act requests (`token` or `Authorization: Bearer`).",
                    secret=True,
                    new=lambda: secrets.token_urlsafe(24),
                ),
            ),
        ),
    ),
)
