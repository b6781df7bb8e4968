"""``adobe-dtm``: Adobe Dynamic Tag Manager with 2Checkout's enhanced-ecommerce dataLayer.

The layout, the events and the rules are gtm-ua's (read that page); products may
also carry ``externalRef``, the product's external reference, which rides in
``Item.extras["externalRef"]`` as sent and goes back into the product. A payload whose
products carry ``externalRef`` is detected as adobe-dtm, any other UA object as gtm-ua.
"""

from __future__ import annotations

from typing import Any

from trackway.dialects.fields import Field, Table
from trackway.rules.values import anything
from trackway.vendors.ua.actions import BY_KEY
from trackway.vendors.ua.gtm import GtmUa

# Documentation only (never read with): the product key adobe-dtm adds to gtm-ua's.
EXTERNAL_REF = Table(
    "Adobe DTM product key beside the UA product's",
    [Field("externalRef", "", anything, "the product's external reference, in Item.extras['externalRef']")],
)


def has_external_ref(ecom: dict[str, Any]) -> bool:
    """Whether a product of any action of ``ecom`` carries ``externalRef``."""
    for key in BY_KEY:
        action = ecom.get(key)
        products = (
            action if key == "impressions" else action.get("products") if type(action) is dict else None
        )
        if type(products) is list and any(type(p) is dict and "externalRef" in p for p in products):
            return True
    return False


class AdobeDtm(GtmUa):
    name = "adobe-dtm"
    title = "Adobe Dynamic Tag Manager dataLayer (UA enhanced ecommerce layout)"
    detect_order = 50

    def sniff(self, payload: Any) -> int:
        base = super().sniff(payload)
        if base >= 80:  # the UA shape
            return 90 if has_external_ref(payload["ecommerce"]) else 40
        return min(base, 30)

    def tables(self) -> list[Table]:
        return [*super().tables(), EXTERNAL_REF]
