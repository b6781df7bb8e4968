"""# Segment

Segment's [HTTP Tracking API](https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/)
receives events as a **destination** (`--type segment`): Trackway sends no dialect of
Segment's and accepts none. The same API reaches RudderStack and other Segment-compatible
receivers (set `base_url`).

Each request is `POST {base_url}/v1/batch` with Basic authentication (the source's write
key as the user name, an empty password) and a body `{"batch": [...], "sentAt": ...}` of
at most 500 KB, each call at most 32 KB (a longer event is refused, not cut). Every event
becomes a `track` call named by Segment's
[e-commerce spec v2](https://segment.com/docs/connections/spec/ecommerce/v2/) (`purchase` is
`Order Completed`), preceded by an `identify` call when it carries user traits. Its
`messageId` is the event's id, so a retried batch is deduplicated by Segment. An event with
neither a user id nor an anonymous id (stored cookieless) is refused: Segment requires one.

Options: `write_key` (a secret, never shown) and `base_url` (default
`https://api.segment.io`). docs/forwarding.md shows what a purchase becomes.
"""

from __future__ import annotations

from trackway.vendors import Vendor

VENDOR = Vendor(
    name="segment",
    title="Segment",
    doc=__doc__ or "",
    destinations={"segment": "trackway.vendors.segment.destination:ENCODER"},
)
