"""Rules for user identifiers: email, E.164 phone, birthdate, gender, hashed values."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from trackway.issues import Issues, Path, article, describe
from trackway.rules.values import INVALID

_E164 = re.compile(r"\+[1-9]\d{1,14}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEX = re.compile(r"[0-9a-f]*")
HASH_LENGTHS = {"md5": 32, "sha256": 64}


def email(value: Any, path: Path, issues: Issues) -> Any:
    if type(value) is str:
        # imported at the first email (email_validator and phonenumbers cost 35 ms at import,
        # which `trackway validate` of a payload with no email does not pay)
        from email_validator import EmailNotValidError, validate_email

        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            issues.error(path, "FORMAT_INVALID", f"expected an email address, got {describe(value)}: {exc}")
            return INVALID
        return value
    issues.error(path, "TYPE_INVALID", f"expected an email address (a string), got {describe(value)}")
    return INVALID


def phone(value: Any, path: Path, issues: Issues) -> Any:
    """A phone number in E.164: ``+`` then country code and number, 15 digits at most."""
    if type(value) is str and _E164.fullmatch(value):
        import phonenumbers  # at the first phone number, as email_validator above

        try:
            parsed = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_possible_number(parsed):
            return value
    issues.error(
        path,
        "FORMAT_INVALID",
        f"expected a phone number in E.164 format such as +33612345678, got {describe(value)}; "
        "write '+', the country code and the number without spaces or a leading 0",
    )
    return INVALID


def birthdate(value: Any, path: Path, issues: Issues) -> Any:
    if type(value) is str and _DATE.fullmatch(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    issues.error(
        path, "FORMAT_INVALID", f"expected a date as YYYY-MM-DD such as 1970-01-01, got {describe(value)}"
    )
    return INVALID


def gender(value: Any, path: Path, issues: Issues) -> Any:
    if value == "m" or value == "f":
        return value
    hint = ""
    if type(value) is str and value.strip().lower() in ("m", "f"):
        hint = f" (did you mean {value.strip().lower()!r}?)"
    issues.error(path, "ENUM_INVALID", f"expected 'm' or 'f', got {describe(value)}{hint}")
    return INVALID


def hashed(algorithm: str) -> Any:
    """A rule for ``*_md5`` / ``*_sha256`` values: lower-case hex of the algorithm's length."""
    length = HASH_LENGTHS[algorithm]

    def rule(value: Any, path: Path, issues: Issues) -> Any:
        if type(value) is str and len(value) == length and _HEX.fullmatch(value):
            return value
        if type(value) is not str:
            got = describe(value)
        elif not _HEX.fullmatch(value):
            got = f"{describe(value)} with characters outside [0-9a-f]"
        else:
            got = f"{describe(value)} of {len(value)} characters"
        issues.error(
            path,
            "HASH_INVALID",
            f"expected {article(algorithm + ' hash')} as {length} lower-case hex characters [0-9a-f], "
            f"got {got}; hash the normalised plain value and send the hex digest",
        )
        return INVALID

    return rule


MD5 = hashed("md5")
SHA256 = hashed("sha256")


def hash_rule_for(key: str) -> Any:
    """The hash rule for a ``user.<field>_md5|_sha256`` key, or None."""
    if key.endswith("_md5"):
        return MD5
    if key.endswith("_sha256"):
        return SHA256
    return None


def phone_lenient(value: Any, path: Path, issues: Issues) -> Any:
    """A phone number where E.164 is only advised (Convead, whose own example sends '555555').

    A string not in E.164 is kept with a FORMAT_INVALID warning; anything else is an error.
    """
    if type(value) is not str:
        issues.error(path, "TYPE_INVALID", f"expected a phone number as a string, got {describe(value)}")
        return INVALID
    scratch = Issues()
    if phone(value, path, scratch) is INVALID:
        issues.warning(
            path,
            "FORMAT_INVALID",
            f"expected a phone number in E.164 format such as +33612345678, got {describe(value)}; "
            "kept as sent. Write '+', the country code and the number so destinations can use it",
        )
    return value
