"""Rules for user identifiers: email, E.164 phone, birthdate, gender, hashed values.

Untidy but meaningful values are read, not rejected (issue 13, section 4): where one
reading is clearly meant, the value is normalised, the event kept, and a VALUE_NORMALISED
warning says what was changed and how to send it. That is: spaces (and zero-width
characters) around an email, a phone or a hash; an email's upper-case domain (domains
have no case; the part before the ``@`` is kept as sent); an international phone number
written with spaces, dots, dashes, slashes or parentheses (``+33 (0)6 12-34-56-78`` is
``+33612345678``); a hash in upper-case hex; a gender ``M`` or ``F``. What no reading can
save stays an error: an address without ``@``, a national number with no country code
(``06 12 34 56 78``), a hash of the wrong length.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from trackway.issues import Issues, Path, article, describe
from trackway.rules.values import INVALID

_E164 = re.compile(r"\+[1-9]\d{1,14}")
# A phone number as people write an international one: '+', digits and separators.
_WRITTEN_PHONE = re.compile(r"\+[\d .()/\-\u00a0]+")
# What surrounds a value by accident: white space, no-break and zero-width spaces, a BOM
# (the derived state keys ids without them too: state/identity.py).
EDGES = " \t\r\n\f\v\u00a0\u200b\u200c\u200d\u2060\ufeff"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEX = re.compile(r"[0-9a-f]*")
HASH_LENGTHS = {"md5": 32, "sha256": 64}


def normalised(value: Any, tidy: str, changes: list[str], how: str, path: Path, issues: Issues) -> str:
    """``tidy`` for ``value``, with the VALUE_NORMALISED warning that says so."""
    issues.warning(
        path,
        "VALUE_NORMALISED",
        f"expected {how}, got {describe(value)} with {' and '.join(changes)}; read as {tidy!r} and the "
        f"event is kept. Send {tidy!r}",
    )
    return tidy


def _edges(value: str) -> tuple[str, list[str]]:
    text = value.strip(EDGES)
    return text, (["spaces around it"] if text != value else [])


def email(value: Any, path: Path, issues: Issues) -> Any:
    """An email address; spaces around it and an upper-case domain are normalised."""
    if type(value) is str:
        # imported at the first email (email_validator and phonenumbers cost 35 ms at import,
        # which `trackway validate` of a payload with no email does not pay)
        from email_validator import EmailNotValidError, validate_email

        text, changes = _edges(value)
        try:
            validate_email(text, check_deliverability=False)
        except EmailNotValidError as exc:
            issues.error(path, "FORMAT_INVALID", f"expected an email address, got {describe(value)}: {exc}")
            return INVALID
        local, _, domain = text.rpartition("@")
        if domain != domain.lower():
            changes.append("an upper-case domain")
        if changes:
            tidy = f"{local}@{domain.lower()}"
            return normalised(value, tidy, changes, "an email address", path, issues)
        return value
    issues.error(path, "TYPE_INVALID", f"expected an email address (a string), got {describe(value)}")
    return INVALID


def _e164(text: str) -> str | None:
    """``text`` as E.164 when it is a possible international number, else None."""
    import phonenumbers  # at the first phone number, as email_validator above

    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    out: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return out


def phone(value: Any, path: Path, issues: Issues) -> Any:
    """A phone number in E.164: ``+`` then country code and number, 15 digits at most. An
    international number written with spaces or separators is normalised."""
    if type(value) is str:
        if _E164.fullmatch(value) and _e164(value) is not None:
            return value
        text, changes = _edges(value)
        tidy = _e164(text) if _WRITTEN_PHONE.fullmatch(text) else None
        if tidy is not None:
            if text != tidy:
                digits = re.sub(r"\D", "", text)
                changes.append("separators" if digits == tidy[1:] else "separators and a trunk prefix (0)")
            return normalised(value, tidy, changes, "a phone number in E.164", path, issues)
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
    """``m`` or ``f``; ``M``, ``F`` and spaces around them are normalised."""
    if value == "m" or value == "f":
        return value
    if type(value) is str:
        text, changes = _edges(value)
        if text.lower() in ("m", "f"):
            if text != text.lower():
                changes.append("upper case")
            return normalised(value, text.lower(), changes, "'m' or 'f'", path, issues)
    issues.error(path, "ENUM_INVALID", f"expected 'm' or 'f', got {describe(value)}")
    return INVALID


def hashed(algorithm: str) -> Any:
    """A rule for ``*_md5`` / ``*_sha256`` values: lower-case hex of the algorithm's length."""
    length = HASH_LENGTHS[algorithm]

    def rule(value: Any, path: Path, issues: Issues) -> Any:
        if type(value) is str and len(value) == length and _HEX.fullmatch(value):
            return value
        if type(value) is str:  # the same digest in upper case, or with spaces around it
            text, changes = _edges(value)
            if text != text.lower():
                changes.append("upper-case hex")
            text = text.lower()
            if len(text) == length and _HEX.fullmatch(text):
                return normalised(
                    value, text, changes, f"{article(algorithm + ' hash')} in lower-case hex", path, issues
                )
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
    scratch.event = issues.event
    tidy = phone(value, path, scratch)
    if tidy is INVALID:
        issues.warning(
            path,
            "FORMAT_INVALID",
            f"expected a phone number in E.164 format such as +33612345678, got {describe(value)}; "
            "kept as sent. Write '+', the country code and the number so destinations can use it",
        )
        return value
    for issue in scratch.items:  # normalised: its VALUE_NORMALISED warning
        issues.add(issue)
    return tidy
