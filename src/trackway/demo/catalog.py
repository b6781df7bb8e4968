"""Fixed reference data of the demo: the shop's catalogue, currencies, Koalect procedures.

Everything here is constant (no randomness), so a seed alone decides a data set.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trackway.demo.truth import Procedure

# Currency -> (share of shop sessions, rate from EUR, minor unit exponent). A European
# shop: JPY (no minor unit) is an edge case, present but rare.
CURRENCIES: dict[str, tuple[float, Decimal, int]] = {
    "EUR": (0.62, Decimal("1"), 2),
    "USD": (0.20, Decimal("1.10"), 2),
    "GBP": (0.15, Decimal("0.85"), 2),
    "JPY": (0.03, Decimal("160"), 0),
}

# The currency Convead events are worth in: Convead sends none, the property's
# default_currency fills it. Create the demo's properties with --default-currency EUR.
CONVEAD_CURRENCY = "EUR"

DONATION_CURRENCIES = (("EUR", 0.8), ("GBP", 0.1), ("USD", 0.1))


@dataclass(frozen=True, slots=True)
class Product:
    item_id: str
    item_name: str
    brand: str
    category: str
    price_eur: Decimal

    def price(self, currency: str) -> Decimal:
        _, rate, exponent = CURRENCIES[currency]
        raw = self.price_eur * rate
        if exponent == 0:
            return (raw / 10).quantize(Decimal("1")) * 10  # ¥1,280 rather than ¥1,278.4
        return raw.quantize(Decimal("1")) - Decimal("0.01")  # 19.99


_FAMILIES = (
    ("Apparel/T-Shirts", "Tee", ("Classic", "Organic", "Striped", "Graphic", "Pocket", "Long Sleeve")),
    ("Apparel/Hoodies", "Hoodie", ("Zip", "Pullover", "Fleece", "Heavy")),
    ("Shoes/Sneakers", "Sneaker", ("Runner", "Court", "Trail", "Retro", "Canvas")),
    ("Shoes/Boots", "Boot", ("Chelsea", "Hiking", "Rain")),
    ("Bags", "Bag", ("Tote", "Backpack", "Messenger", "Duffel")),
    ("Home/Kitchen", "Mug", ("Ceramic", "Travel", "Espresso")),
    ("Home/Decor", "Lamp", ("Desk", "Floor", "Pendant")),
    ("Electronics/Audio", "Headphones", ("Wireless", "Studio", "Sport")),
    ("Books", "Notebook", ("Dotted", "Lined", "Blank", "Sketch")),
)
_BRANDS = ("Northwind", "Tailspin", "Contoso", "Fabrikam", "Litware")
_BASE = {
    "Tee": 20,
    "Hoodie": 55,
    "Sneaker": 90,
    "Boot": 130,
    "Bag": 45,
    "Mug": 12,
    "Lamp": 60,
    "Headphones": 150,
    "Notebook": 9,
}


def _catalogue() -> tuple[Product, ...]:
    out = []
    n = 0
    for category, noun, variants in _FAMILIES:
        for k, variant in enumerate(variants):
            n += 1
            price = Decimal(_BASE[noun] + 5 * k)
            out.append(
                Product(f"SKU-{n:04d}", f"{variant} {noun}", _BRANDS[n % len(_BRANDS)], category, price)
            )
    return tuple(out)


PRODUCTS = _catalogue()
BY_ID = {p.item_id: p for p in PRODUCTS}
# The bulk order (scenario big_refund): a company's event tees, ordered early in the month
# and all sent back near its end, sized to about BULK_DAYS days of the shop's EUR sales,
# so that the refund outweighs its day's sales without swamping the month's.
BULK = Product("SKU-9001", "Event Tee (bulk)", "Northwind", "Apparel/T-Shirts", Decimal("12"))
BY_ID[BULK.item_id] = BULK
BULK_DAYS = Decimal("1.5")
EUR_SALES_PER_SHOP_VISIT = Decimal(20)  # measured: 20.2-21.0 a visit, seeds 1-3 at 6,000 visits

LISTS = ("Home", "New arrivals", "Sale", "Search results", "Apparel", "Shoes", "Home & Kitchen")
SEARCH_TERMS = ("tee", "sneakers", "black hoodie", "mug", "boots size 42", "headphones", "notebook a5")
LOGIN_METHODS = ("password", "google", "apple")

# Payment methods by what each dialect sends.
CA_PAYMENT = ("card", "card", "online_payment_system", "by_bank_transfer_in_advance", "direct_debit")
GA4_PAYMENT = ("Credit Card", "Credit Card", "PayPal", "Apple Pay", "Bank Transfer")
KOALECT_PAYMENT = ("bancontact", "card", "ideal", "sofort")

# Commanders Act status values an order moves through.
STATUS_NEW = "in_progress"
STATUS_PENDING = "pending"
STATUS_NEXT = {
    "pending": ("in_progress", "canceled"),
    "in_progress": ("shipped", "canceled"),
    "shipped": ("delivered",),
}
# A confirmed donation: a one-off gift is done, a monthly one goes on; a charge-back cancels.
STATUS_DONATED = "delivered"
STATUS_MONTHLY = "in_progress"

# The back office: orders placed in a dialect with no order status (GA4, UA) and Koalect
# donations get their statuses from the shop's (the charity's CRM's) server, through
# Commanders Act's server-side API, keyed by the same transaction id.
BACK_OFFICE = ("commanders-act", "server")
BACK_OFFICE_PAYMENT = {
    "Credit Card": "card",
    "PayPal": "online_payment_system",
    "Apple Pay": "online_payment_system",
    "Bank Transfer": "by_bank_transfer_in_advance",
    "bancontact": "card",
    "card": "card",
    "ideal": "online_payment_system",
    "sofort": "online_payment_system",
}

# Koalect.
CLIENT_ID = "c7f3a1d2-5b9e-4c8a-9f61-2e4d8b7a0c11"
PROCEDURES = (
    Procedure(
        "0b6e4a52-donation-general",
        "donate-general-5f2a1",
        "Donation form",
        "donation",
        "Client",
        CLIENT_ID,
        ("custom", "personal_infos", "success"),
        True,
    ),
    Procedure(
        "1c7f5b63-donation-winter",
        "winter-appeal-8c3d2",
        "Winter appeal",
        "donation",
        "Campaign",
        "d1e2f3a4-campaign-winter",
        ("custom", "personal_infos", "success"),
        True,
    ),
    Procedure(
        "2d806c74-donation-project",
        "run-for-water-a4e93",
        "Run for water",
        "donation",
        "Project",
        "e5f6a7b8-project-water",
        ("personal_infos", "success"),
        True,
    ),
    Procedure(
        "3e917d85-create-project",
        "start-a-fundraiser-b7f04",
        "Start a fundraiser",
        "create-project",
        "Campaign",
        "d1e2f3a4-campaign-winter",
        ("project_informations", "success"),
        False,
    ),
    Procedure(
        "4fa28e96-project-invite",
        "join-a-team-c8015",
        "Join a team",
        "project-invite",
        "Project",
        "e5f6a7b8-project-water",
        ("project_invitation", "custom", "success"),
        False,
    ),
)
DONATION_PRODUCTS = (
    ("DON-FREE", "Free donation"),
    ("DON-MONTHLY", "Monthly gift"),
    ("DON-TSHIRT", "T-Shirt - M"),
)
DONATION_AMOUNTS = (Decimal(10), Decimal(20), Decimal(25), Decimal(50), Decimal(100))

# The funnel of a Koalect donations site: its procedure's steps as Trackway names them
# (Koalect's checkout is begin_checkout, its transaction purchase; add_payment_info comes
# before checkout, as its document says), not a shop's.
KOALECT_FUNNEL_STEPS = ("view_step", "add_to_cart", "add_payment_info", "begin_checkout", "purchase")
# Settings the demo gives a property of each kind (trackway.toml, besides its keys).
PROPERTY_SETTINGS: dict[str, dict[str, object]] = {
    "shop": {},
    "donations": {"funnel_steps": list(KOALECT_FUNNEL_STEPS)},
}
