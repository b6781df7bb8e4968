"""Commanders Act's "About Hashing" examples: plain identifiers and their hashes."""

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
