"""# Universal Analytics (and Adobe DTM's layout of it)

Universal Analytics enhanced ecommerce in its three browser forms:

- **gtag-ua**: `gtag('event', name, params)` calls of gtag.js with a UA property;
- **gtm-ua**: `dataLayer.push({event, ecommerce: {<action>: {actionField, products}}})`
  objects for Google Tag Manager's UA tags;
- **adobe-dtm**: the same enhanced ecommerce layout pushed for Adobe Dynamic Tag
  Manager (`digitalData`, `cartUpdated`).

No wire endpoint of its own: these payloads arrive in `/collect` batches.
"""

from __future__ import annotations

from trackway.vendors import Vendor
from trackway.vendors.ua.adobe_dtm import AdobeDtm
from trackway.vendors.ua.gtag import GtagUa
from trackway.vendors.ua.gtm import GtmUa

VENDOR = Vendor(
    name="ua",
    title="Universal Analytics",
    doc=__doc__ or "",
    dialects=(GtagUa(), GtmUa(), AdobeDtm()),
    presets={
        # 2Checkout's documented rules for its five analytics set-ups: transaction ids as the
        # SHA-256 of the order reference, checkout step 1, orderDiscountCoupon 'auto-apply'.
        "2checkout": {"hash_transaction_id": True, "checkout_step": 1, "order_discount_coupon": "auto-apply"},
    },
    demo="trackway.vendors.ua.demo:requests",
)
