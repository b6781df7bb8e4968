"""# Convead and InSend

Convead's tracker in its two forms: `convead('event', ...)` calls in the browser and
`POST /watch/event` with form-encoded fields (**convead**). InSend runs Convead's API
under its own name (**insend**, `insend(...)` calls): the same wire format.

`/watch/event` answers 200, or 400 with the issues when the event is invalid (stored in
`failed_events` all the same). Key: a property's `convead_app_key` (the `app_key`
field).
"""

from __future__ import annotations

import secrets

from trackway.settings import KB, Setting
from trackway.vendors import Endpoint, Key, Vendor
from trackway.vendors.convead.adapter import Convead, Insend

VENDOR = Vendor(
    name="convead",
    title="Convead and InSend",
    doc=__doc__ or "",
    dialects=(Convead(), Insend()),
    endpoints=(Endpoint("/watch/event", {"POST": "trackway.vendors.convead.endpoint:event"}),),
    openapi="trackway.vendors.convead.openapi:paths",
    demo="trackway.vendors.convead.demo:requests",
    destinations={
        "convead": "trackway.vendors.convead.destination:ENCODER",
        "insend": "trackway.vendors.convead.destination:INSEND",
    },
    keys=(
        Key(
            "convead",
            (
                Setting(
                    "convead_app_key",
                    str,
                    "",
                    "The `app_key` of Convead and InSend requests.",
                    secret=True,
                    new=lambda: secrets.token_hex(16),
                ),
            ),
        ),
    ),
    server_settings=(
        Setting("convead_max_body", int, 64 * KB, "Largest /watch/event body, in bytes.", bounds=(1, None)),
    ),
)
