"""# Google Analytics 4

GA4 events in their three forms:

- **gtag-ga4**: `gtag('event', name, params)` calls of gtag.js with a GA4 property;
- **gtm-ga4**: `dataLayer.push({event, ecommerce})` objects for Google Tag Manager's GA4
  ecommerce tags (and the `{ecommerce: null}` clear Google recommends before each push);
- **ga4-mp**: the Measurement Protocol, `POST /mp/collect` (answered 204 as Google does,
  the body decoded by the loader) and `POST /debug/mp/collect` (Google's validation
  answer, nothing stored).

Keys: a property's `ga4_measurement_id` and `ga4_api_secret` (query string of the
Measurement Protocol). Consent: Google consent mode v2, from `gtag('consent', 'default' |
'update', {...})` commands (applied to the events after them in a `/collect` batch) and
the Measurement Protocol's `consent` object; the deprecated `non_personalized_ads`.
"""

from __future__ import annotations

import secrets
import string

from trackway.settings import Setting
from trackway.vendors import ConsentCommand, Endpoint, Key, Vendor
from trackway.vendors.ga4.consent import READERS, apply_command, is_command, issues_of_command
from trackway.vendors.ga4.gtag import GtagGa4
from trackway.vendors.ga4.gtm import GtmGa4
from trackway.vendors.ga4.mp import Ga4Mp

_ALNUM = string.ascii_uppercase + string.digits

VENDOR = Vendor(
    name="ga4",
    title="Google Analytics 4",
    doc=__doc__ or "",
    dialects=(GtagGa4(), GtmGa4(), Ga4Mp()),
    endpoints=(
        Endpoint("/mp/collect", {"POST": "trackway.vendors.ga4.mp_endpoint:collect"}),
        Endpoint("/debug/mp/collect", {"POST": "trackway.vendors.ga4.mp_endpoint:debug"}),
    ),
    openapi="trackway.vendors.ga4.openapi:paths",
    demo="trackway.vendors.ga4.demo:requests",
    consent=READERS,
    destinations={"ga4": "trackway.vendors.ga4.destination:ENCODER"},
    consent_commands=(ConsentCommand("gtag-consent", is_command, issues_of_command, apply_command),),
    raw_event_lists={"ga4-mp": "events"},
    keys=(
        Key(
            "ga4",
            (
                Setting(
                    "ga4_measurement_id",
                    str,
                    "",
                    "The `measurement_id` of GA4 Measurement Protocol requests.",
                    new=lambda: "G-" + "".join(secrets.choice(_ALNUM) for _ in range(10)),
                ),
                Setting(
                    "ga4_api_secret",
                    str,
                    "",
                    "The `api_secret` of GA4 Measurement Protocol requests.",
                    secret=True,
                    new=lambda: secrets.token_urlsafe(16),
                ),
            ),
        ),
    ),
)
