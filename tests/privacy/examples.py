"""Commanders Act's "About Hashing" examples: plain identifiers and their hashes; and every
place an email or phone sits in an event, with what each identifiers policy stores there."""

import hashlib
from typing import Any

EMAIL = "john.doe@example.com"
EMAIL_MD5 = "8eb1b522f60d11fa897de1dc6351b7e8"
EMAIL_SHA256 = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f"
PHONE = "+33612345678"
PHONE_MD5 = "60dd761f55cb17f0532c9fb1679e8ddd"
PHONE_SHA256 = "42d573cfc315801d4cd8eddd5416b416a0bf298b9b9e12d6b07442c91db42bd8"
HASHES = {
    "email_md5": EMAIL_MD5,
    "email_sha256": EMAIL_SHA256,
    "phone_md5": PHONE_MD5,
    "phone_sha256": PHONE_SHA256,
}


# -- every place an email or phone sits, as decoded, and what each policy stores there -----

SENT_EMAIL = "Jane.Doe@Example.com"  # as a visitor typed it
SENT_PHONE = "+33 6 12 34 56 78"
MISSING = "<missing>"  # the place is gone from the event


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


JANE = _sha("jane.doe@example.com")  # the sha256 of the normalised address
MARY = _sha("mary@example.com")
PHONE_HASH = PHONE_SHA256
URL = "https://shop.example/a?email=mary%40example.com&x=1"

# (case, dialect, payload, path into the event's JSON, {policy: what is stored there})
PLACES: list[tuple[str, str, Any, tuple[str, ...], dict[str, Any]]] = [
    (
        "a dataLayer user_data object (properties)",
        "gtm-ga4",
        {"event": "login", "user_data": {"email": SENT_EMAIL}},
        ("properties", "user_data"),
        {"keep": {"email": SENT_EMAIL}, "hash": {"sha256_email_address": JANE}, "drop": MISSING},
    ),
    (
        "gtag user_data: email, phone_number and the address's names and street",
        "gtag-ga4",
        [
            "event",
            "sign_up",
            {
                "user_data": {
                    "email": [SENT_EMAIL, "mary@example.com"],
                    "phone_number": SENT_PHONE,
                    "address": {
                        "first_name": "Jane-Ann",
                        "last_name": " Doe2 ",
                        "street": "12, Lilac St.",
                        "city": "Paris",
                    },
                }
            },
        ],
        ("properties", "user_data"),
        {
            "keep": {
                "email": [SENT_EMAIL, "mary@example.com"],
                "phone_number": SENT_PHONE,
                "address": {
                    "first_name": "Jane-Ann",
                    "last_name": " Doe2 ",
                    "street": "12, Lilac St.",
                    "city": "Paris",
                },
            },
            "hash": {
                "sha256_email_address": [JANE, MARY],
                "sha256_phone_number": PHONE_HASH,
                "address": {
                    "city": "Paris",
                    "sha256_first_name": _sha("janeann"),
                    "sha256_last_name": _sha("doe"),
                    "sha256_street": _sha("12 lilac st"),
                },
            },
            "drop": MISSING,
        },
    ),
    (
        "the Measurement Protocol's user_data (context), a plain email_address beside a hash",
        "ga4-mp",
        {
            "client_id": "c.1",
            "user_data": {"email_address": SENT_EMAIL, "sha256_email_address": [MARY]},
            "events": [{"name": "login"}],
        },
        ("context", "user_data"),
        {
            "keep": {"email_address": SENT_EMAIL, "sha256_email_address": [MARY]},
            "hash": {"sha256_email_address": [MARY, JANE]},
            "drop": MISSING,
        },
    ),
    (
        "an email in a URL's query, percent-encoded",
        "ga4-mp",
        {"client_id": "c.1", "events": [{"name": "page_view", "params": {"page_location": URL}}]},
        ("properties", "page_location"),
        {
            "keep": URL,
            "hash": f"https://shop.example/a?email={MARY}&x=1",
            "drop": "https://shop.example/a?email=&x=1",
        },
    ),
    (
        "a phone in a URL parameter named phone",
        "gtm-ga4",
        {"event": "page_view", "page_location": "https://shop.example/?tel=1&phone=%2B33612345678"},
        ("properties", "page_location"),
        {
            "keep": "https://shop.example/?tel=1&phone=%2B33612345678",
            "hash": f"https://shop.example/?tel=1&phone={PHONE_HASH}",
            "drop": "https://shop.example/?tel=1&phone=",
        },
    ),
    (
        "an email as the user id",
        "ga4-mp",
        {"client_id": "c.1", "user_id": SENT_EMAIL, "events": [{"name": "login"}]},
        ("user_id",),
        {"keep": SENT_EMAIL, "hash": JANE, "drop": MISSING},
    ),
    (
        "a phone as the user id",
        "ga4-mp",
        {"client_id": "c.1", "user_id": "+33612345678", "events": [{"name": "login"}]},
        ("user_id",),
        {"keep": "+33612345678", "hash": PHONE_HASH, "drop": MISSING},
    ),
    (
        "a key naming an email",
        "gtm-ga4",
        {"event": "sign_up", "customer_email": SENT_EMAIL},
        ("properties", "customer_email"),
        {"keep": SENT_EMAIL, "hash": JANE, "drop": MISSING},
    ),
    (
        "a phone key holding a number that does not normalise (national): removed, as from the traits",
        "gtm-ga4",
        {"event": "sign_up", "phone": "06 12 34 56 78"},
        ("properties", "phone"),
        {"keep": "06 12 34 56 78", "hash": MISSING, "drop": MISSING},
    ),
    (
        "an email key holding a hash the client made: a hash, kept under hash",
        "gtm-ga4",
        {"event": "login", "email": JANE.upper()},
        ("properties", "email"),
        {"keep": JANE.upper(), "hash": JANE.upper(), "drop": MISSING},
    ),
    (
        "an email as a search term",
        "gtm-ga4",
        {"event": "search", "search_term": f" {SENT_EMAIL} "},
        ("properties", "search_term"),
        {"keep": f" {SENT_EMAIL} ", "hash": JANE, "drop": MISSING},
    ),
    *[
        (
            f"a key naming a phone without saying phone ({key}): it was kept plain",
            "gtm-ga4",
            {"event": "sign_up", key: SENT_PHONE},
            ("properties", key),
            {"keep": SENT_PHONE, "hash": PHONE_HASH, "drop": MISSING},
        )
        for key in ("mobile", "mobile_number", "msisdn", "tel", "cellphone")
    ],
    (
        "an email inside a text",
        "gtm-ga4",
        {"event": "contact", "message": f"write to {SENT_EMAIL}."},
        ("properties", "message"),
        {"keep": f"write to {SENT_EMAIL}.", "hash": f"write to {JANE}.", "drop": "write to ."},
    ),
]

# Values that name no one: every policy stores them as sent.
NOT_IDENTIFIERS: list[tuple[str, Any]] = [
    ("a retina image's file name", {"event": "page_view", "image": "https://cdn.example/logo@2x.png"}),
    ("a retina image's file name alone", {"event": "page_view", "image": "logo@2x.png"}),
    ("flags about email", {"event": "sign_up", "email_opt_in": True, "email_campaign": "spring"}),
    ("an @handle", {"event": "share", "handle": "@jane", "note": "a@b"}),
    (
        "words that only contain a phone's",
        {"event": "book", "hotel": "Ritz", "telemetry": "on", "tell": "me"},
    ),
]
