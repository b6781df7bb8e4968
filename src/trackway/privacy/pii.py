"""Personal identifiers: normalisation, hashing, the keep/hash/drop policy, IP truncation.

Hashes follow Commanders Act's "About Hashing": the md5 and sha256 of the
normalised plain value (UTF-8), as lower-case hex, in ``<trait>_md5`` and
``<trait>_sha256``. An email is normalised by trimming and lower-casing; a phone
number by writing it in E.164. Nothing here raises: a value that cannot be
normalised gives None (and so no hash).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber, PhoneNumberFormat

IDENTIFIER_TRAITS = ("email", "phone")
HASHES = ("md5", "sha256")
POLICIES = ("keep", "hash", "drop")
HASH_KEYS = tuple(f"{trait}_{algorithm}" for trait in IDENTIFIER_TRAITS for algorithm in HASHES)
_DROPPED = (*IDENTIFIER_TRAITS, *HASH_KEYS)

# Addresses this matches are accepted by email_validator too (a test checks it) and
# are decided without it: the validator costs ~50 µs, this ~1 µs. Anything else
# (quoted or non-ASCII local parts, IDNA domains, "--" in labels) goes to the validator.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_FAST_EMAIL = re.compile(
    rf"(?=.{{1,64}}@){_ATEXT}(?:\.{_ATEXT})*@(?=.{{4,253}}$)(?!.*--)"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


def normalize_email(value: Any) -> str | None:
    """The email trimmed and lower-cased, or None if it is not a plausible address.

    Plausible means accepted by ``email_validator`` without a deliverability check
    (the project's rule in :mod:`trackway.rules.identity`): one ``@``, a domain with
    a dot in a real top-level domain, no special-use domain (``.test``, ``.local``).
    The address is not otherwise rewritten (an IDNA domain stays as sent).
    """
    if type(value) is not str:
        return None
    return _email(value)


@lru_cache(maxsize=8192)
def _email(value: str) -> str | None:
    text = value.strip().lower()
    if len(text) > 254:
        return None
    if _FAST_EMAIL.fullmatch(text) and text.rpartition(".")[2] not in _SPECIAL_USE:
        return text
    try:
        validate_email(text, check_deliverability=False)
    except (EmailNotValidError, ValueError, TypeError):
        return None
    return text


def normalize_phone(value: Any) -> str | None:
    """The phone number in E.164 (``+33612345678``), or None.

    Only international numbers are accepted: a ``+``, the country code and the
    number, with the spaces, dots, dashes and parentheses people write
    (``+33 (0)6 12 34 56 78`` gives ``+33612345678``). A national number
    (``06 12 34 56 78``) or one with an ``00`` prefix has no country Trackway can
    be sure of and gives None. The number must be *possible* for its country (its
    length), as :func:`trackway.rules.identity.phone` requires; it is not checked
    against the numbering plan.
    """
    if type(value) is not str:
        return None
    return _phone(value)


@lru_cache(maxsize=8192)
def _phone(value: str) -> str | None:
    text = value.strip()
    if not text.startswith("+"):
        return None
    if _E164.fullmatch(text):
        fast = _phone_fast(text)
        if fast is not None:
            return fast or None
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _phone_fast(text: str) -> str | None:
    """``text`` (already ``+`` and digits) itself, "" when it is impossible, None when
    only ``phonenumbers.parse`` can tell (it would strip a national prefix). It
    builds what ``parse`` builds (country code, leading zeros) without its ~20 µs;
    a test checks it agrees with ``parse`` on generated numbers."""
    digits = text[1:]
    for n in (1, 2, 3):
        code = int(digits[:n])
        regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
        if regions is not None:
            break
    else:
        return ""
    national = digits[n:]
    if len(national) < 2:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    if prefix is not None and re.match(prefix, national):
        return None
    number = PhoneNumber(country_code=code, national_number=int(national))
    if national[0] == "0":
        number.italian_leading_zero = True
        zeros = len(national) - len(national.lstrip("0"))
        zeros = min(zeros, len(national) - 1)
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return text if phonenumbers.is_possible_number(number) else ""


def md5_hex(value: str) -> str:
    """md5 of ``value`` as UTF-8, lower-case hex. ``value`` is hashed as given:
    normalise it first (:func:`normalize_email`, :func:`normalize_phone`)."""
    return hashlib.md5(value.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def sha256_hex(value: str) -> str:
    """sha256 of ``value`` as UTF-8, lower-case hex (hashed as given, like :func:`md5_hex`)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=8192)
def _email_hashes(value: str) -> tuple[str, str] | None:
    normal = _email(value)
    return None if normal is None else (md5_hex(normal), sha256_hex(normal))


@lru_cache(maxsize=8192)
def _phone_hashes(value: str) -> tuple[str, str] | None:
    normal = _phone(value)
    return None if normal is None else (md5_hex(normal), sha256_hex(normal))


# (plain trait, its md5 key, its sha256 key, the cached hashes of a plain value)
_HASHED = (
    ("email", "email_md5", "email_sha256", _email_hashes),
    ("phone", "phone_md5", "phone_sha256", _phone_hashes),
)


def _with_hashes(user: dict[str, Any]) -> dict[str, Any]:
    """``user`` itself when there is nothing to add, else a copy with the hashes added.
    Identifiers repeat from event to event: their hashes are cached by plain value."""
    out = user
    for trait, md5_key, sha256_key, hashes_of in _HASHED:
        plain = user.get(trait)
        if type(plain) is not str:
            continue
        md5, sha256 = user.get(md5_key), user.get(sha256_key)
        if md5 is not None and sha256 is not None:
            continue
        hashes = hashes_of(plain)
        if hashes is None:
            continue
        if out is user:
            out = dict(user)
        if md5 is None:
            out[md5_key] = hashes[0]
        if sha256 is None:
            out[sha256_key] = hashes[1]
    return out


def add_hashes(user: dict[str, Any]) -> dict[str, Any]:
    """A new traits dict with ``email_md5``, ``email_sha256``, ``phone_md5`` and
    ``phone_sha256`` computed from the plain ``email``/``phone`` where they are
    missing (or null). A hash the client sent is kept as sent, even if it does not
    match the plain value; a plain value that does not normalise gives no hash and
    is itself kept as sent. Anything but a dict gives ``{}``."""
    if not isinstance(user, dict):
        return {}
    out = _with_hashes(user)
    return dict(out) if out is user else out


def _policy(user: dict[str, Any], policy: str) -> dict[str, Any]:
    """``user`` itself when the policy changes nothing, else a new dict."""
    if policy == "keep":
        return user
    removed = IDENTIFIER_TRAITS if policy == "hash" else _DROPPED
    out = _with_hashes(user) if policy == "hash" else user
    for key in removed:
        if key in out:
            if out is user:
                out = dict(user)
            del out[key]
    return out


def apply_policy(user: dict[str, Any] | None, policy: str) -> dict[str, Any] | None:
    """The traits under a policy for plain identifiers (:data:`IDENTIFIER_TRAITS`):

    - ``"keep"``: everything as it is (hashes are added by :func:`add_hashes`, not here);
    - ``"hash"``: the hashes computed first (as :func:`add_hashes`), then the plain
      ``email`` and ``phone`` removed. A plain value that does not normalise has no
      hash and is removed all the same: a policy that stores no plain identifier
      stores none;
    - ``"drop"``: the plain identifiers and their md5/sha256 hashes removed.

    Other traits (names, city, birthdate, ...) are never touched. A new dict, or
    None for None (and for anything but a dict). An unknown policy is read as
    ``"drop"``, the strictest; configuration is checked where it is loaded.
    """
    if not isinstance(user, dict):
        return None
    out = _policy(user, policy if policy in POLICIES else "drop")
    return dict(out) if out is user else out


def truncate_ip(ip: Any) -> str:
    """The address with its host part zeroed: IPv4 to its /24 (``203.0.113.7`` ->
    ``203.0.113.0``), IPv6 to its /48 (``2001:db8:85a3::8a2e:370:7334`` ->
    ``2001:db8:85a3::``), an IPv4-mapped IPv6 address by its IPv4 part
    (``::ffff:203.0.113.0``); a zone id is dropped. Anything that is not an address
    (a port, a list, garbage, not a string) gives ``""``. Idempotent."""
    if type(ip) is not str:
        return ""
    if _IPV4.fullmatch(ip):
        return f"{ip[: ip.rindex('.')]}.0"
    return _truncate_ip(ip)


@lru_cache(maxsize=4096)
def _truncate_ip(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""
    if address.version == 4:
        return str(ipaddress.IPv4Address(int(address) & 0xFFFFFF00))
    mapped = address.ipv4_mapped
    if mapped is not None:
        return f"::ffff:{ipaddress.IPv4Address(int(mapped) & 0xFFFFFF00)}"
    return str(ipaddress.IPv6Address(int(address) & ~((1 << 80) - 1)))
