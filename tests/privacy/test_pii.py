"""Identifiers: normalisation, Commanders Act's hashes, the keep/hash/drop policy, IP truncation."""

from __future__ import annotations

import copy
import ipaddress

import phonenumbers
import pytest
from email_validator import validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from tests.privacy.examples import EMAIL, EMAIL_MD5, EMAIL_SHA256, HASHES, PHONE, PHONE_MD5, PHONE_SHA256
from trackway.privacy import pii
from trackway.privacy.pii import (
    IDENTIFIER_TRAITS,
    add_hashes,
    apply_policy,
    md5_hex,
    normalize_email,
    normalize_phone,
    sha256_hex,
    truncate_ip,
)

EMAILS = [
    ("john.doe@example.com", "john.doe@example.com"),
    ("  John.Doe@Example.COM\t", "john.doe@example.com"),
    ("JOHN.DOE@EXAMPLE.COM", "john.doe@example.com"),
    ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
    ("o'neil@example.ie", "o'neil@example.ie"),
    ("x@xn--80ak6aa92e.com", "x@xn--80ak6aa92e.com"),  # IDNA domain: checked by email_validator, kept as sent
    ("User@Bücher.DE", "user@bücher.de"),
    ("a@b.c", "a@b.c"),
    ("no-at-sign", None),
    ("a@b", None),
    ("a@localhost", None),
    ("a@b.test", None),
    ("a@shop.local", None),
    ("a@@b.com", None),
    ("a b@c.com", None),
    ("a..b@c.com", None),
    (".a@c.com", None),
    ("a@ab--cd.com", None),
    ("a@-b.com", None),
    ("a@1.2.3.4", None),
    ("", None),
    ("   ", None),
    ("x" * 65 + "@example.com", "x" * 65 + "@example.com"),  # email_validator allows a long local part
    ("a@" + "b" * 250 + ".com", None),
    (None, None),
    (42, None),
    (["john.doe@example.com"], None),
    ({"email": "john.doe@example.com"}, None),
]


@pytest.mark.parametrize(("value", "expected"), EMAILS)
def test_normalize_email(value, expected):
    assert normalize_email(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[a-z0-9._%+'-]{1,20}@[a-z0-9.-]{1,20}\.[a-z]{2,6}", fullmatch=True))
@example("a@ab--cd.com")
@example("a@b.test")
def test_the_fast_email_path_agrees_with_email_validator(value):
    """Addresses decided without email_validator are ones it accepts, and nothing it accepts is lost."""
    try:
        validate_email(value, check_deliverability=False)
    except ValueError:
        accepted = False
    else:
        accepted = True
    if pii._FAST_EMAIL.fullmatch(value) and value.rpartition(".")[2] not in pii._SPECIAL_USE:
        assert accepted
    assert (normalize_email(value) is not None) == accepted


PHONES = [
    ("+33612345678", "+33612345678"),
    (" +33 6 12 34 56 78 ", "+33612345678"),
    ("+33 (0)6 12 34 56 78", "+33612345678"),
    ("+33.6.12.34.56.78", "+33612345678"),
    ("+330612345678", "+33612345678"),  # the national 0 after the country code is dropped
    ("+1 (202) 555-0143", "+12025550143"),
    ("+12025550143", "+12025550143"),
    ("+44 20 7946 0000", "+442079460000"),
    ("+390612345678", "+390612345678"),  # Italy keeps its leading zero
    ("+800 1234 5678", "+80012345678"),  # a non-geographic number
    ("06 12 34 56 78", None),  # national: no country code
    ("0612345678", None),
    ("0033612345678", None),
    ("33612345678", None),
    ("+33", None),
    ("+33 12", None),
    ("+999 123 456", None),  # no such country code
    ("+3361234567890123", None),
    ("+33 6 12 34 56 78 ext. 12", "+33612345678"),
    ("phone", None),
    ("", None),
    ("+", None),
    (33612345678, None),
    (None, None),
    (["+33612345678"], None),
]


@pytest.mark.parametrize(("value", "expected"), PHONES)
def test_normalize_phone(value, expected):
    assert normalize_phone(value) == expected


def _slow_phone(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@settings(max_examples=1000, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{1,14}", fullmatch=True))
@example("+390612345678")
@example("+39000")
@example("+3900012345")
@example("+5491123456789")
@example("+61183112345678")
def test_the_fast_phone_path_agrees_with_phonenumbers(value):
    fast = pii._phone_fast(value)
    if fast is not None:
        assert (fast or None) == _slow_phone(value)
    assert normalize_phone(value) == _slow_phone(value)


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_country_example_number(region):
    number = phonenumbers.example_number(region)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    assert normalize_phone(e164) == e164
    assert normalize_phone(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)) == e164
    assert normalize_phone(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)) is None


def test_hashes_are_commanders_acts_examples():
    assert md5_hex(EMAIL) == EMAIL_MD5
    assert sha256_hex(EMAIL) == EMAIL_SHA256
    assert md5_hex(PHONE) == PHONE_MD5
    assert sha256_hex(PHONE) == PHONE_SHA256


ADD_HASHES = [
    ({"email": EMAIL}, {"email": EMAIL, "email_md5": EMAIL_MD5, "email_sha256": EMAIL_SHA256}),
    # the hash is of the normalised value; the plain value stays as sent
    (
        {"email": " John.Doe@EXAMPLE.com "},
        {"email": " John.Doe@EXAMPLE.com ", "email_md5": EMAIL_MD5, "email_sha256": EMAIL_SHA256},
    ),
    (
        {"phone": "+33 6 12 34 56 78"},
        {"phone": "+33 6 12 34 56 78", "phone_md5": PHONE_MD5, "phone_sha256": PHONE_SHA256},
    ),
    (
        {"email": EMAIL, "phone": PHONE, "firstname": "John"},
        {"email": EMAIL, "phone": PHONE, "firstname": "John", **HASHES},
    ),
    # a hash the client sent is kept as sent; only the missing one is computed
    (
        {"email": EMAIL, "email_md5": "f" * 32},
        {"email": EMAIL, "email_md5": "f" * 32, "email_sha256": EMAIL_SHA256},
    ),
    (
        {"email": EMAIL, "email_md5": "X", "email_sha256": "Y"},
        {"email": EMAIL, "email_md5": "X", "email_sha256": "Y"},
    ),
    (
        {"email": EMAIL, "email_md5": None},
        {"email": EMAIL, "email_md5": EMAIL_MD5, "email_sha256": EMAIL_SHA256},
    ),
    # hashes only: nothing to compute them from
    ({"email_sha256": EMAIL_SHA256}, {"email_sha256": EMAIL_SHA256}),
    # a plain value that does not normalise gives no hash
    (
        {"email": "not-an-email", "phone": "06 12 34 56 78"},
        {"email": "not-an-email", "phone": "06 12 34 56 78"},
    ),
    ({"email": 42, "phone": None}, {"email": 42, "phone": None}),
    ({}, {}),
]


@pytest.mark.parametrize(("user", "expected"), ADD_HASHES)
def test_add_hashes(user, expected):
    before = copy.deepcopy(user)
    out = add_hashes(user)
    assert out == expected
    assert out is not user
    assert user == before
    assert add_hashes(out) == out


@pytest.mark.parametrize("garbage", [None, "x", ["email"], 3])
def test_add_hashes_on_garbage(garbage):
    assert add_hashes(garbage) == {}


USER = {
    "id": "u1",
    "email": EMAIL,
    "phone": PHONE,
    "firstname": "John",
    "city": "Boston",
    "phone_md5": PHONE_MD5,
}
OTHER = {"id": "u1", "firstname": "John", "city": "Boston"}

POLICIES = [
    ("keep", USER, USER),
    ("hash", USER, {**OTHER, **HASHES}),
    ("drop", USER, OTHER),
    ("hash", {"email": "not-an-email", "city": "Boston"}, {"city": "Boston"}),
    ("drop", {"email_md5": EMAIL_MD5, "email_sha256": EMAIL_SHA256, "gender": "m"}, {"gender": "m"}),
    ("hash", {"email_md5": EMAIL_MD5}, {"email_md5": EMAIL_MD5}),
    ("keep", {}, {}),
    ("drop", {}, {}),
    ("bogus", USER, OTHER),  # an unknown policy is read as the strictest
]


@pytest.mark.parametrize(("policy", "user", "expected"), POLICIES)
def test_apply_policy(policy, user, expected):
    before = copy.deepcopy(user)
    out = apply_policy(user, policy)
    assert out == expected
    assert out is not user
    assert user == before
    assert apply_policy(out, policy) == out
    assert set(IDENTIFIER_TRAITS) == {"email", "phone"}


@pytest.mark.parametrize("policy", ["keep", "hash", "drop"])
@pytest.mark.parametrize("user", [None, "x", [1]])
def test_apply_policy_on_no_user(policy, user):
    assert apply_policy(user, policy) is None


IPS = [
    ("203.0.113.7", "203.0.113.0"),
    ("203.0.113.0", "203.0.113.0"),
    ("255.255.255.255", "255.255.255.0"),
    ("0.0.0.0", "0.0.0.0"),
    (" 10.1.2.3 ", "10.1.2.0"),
    ("2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3::"),
    ("2001:db8:85a3:ffff::1", "2001:db8:85a3::"),
    ("::1", "::"),
    ("fe80::1%eth0", "fe80::"),
    ("::ffff:203.0.113.7", "::ffff:203.0.113.0"),
    ("1.2.3.4:8080", ""),
    ("1.2.3", ""),
    ("01.2.3.4", ""),
    ("256.1.1.1", ""),
    ("1.2.3.4, 5.6.7.8", ""),
    ("localhost", ""),
    ("", ""),
    (None, ""),
    (16909060, ""),
    (["1.2.3.4"], ""),
]


@pytest.mark.parametrize(("ip", "expected"), IPS)
def test_truncate_ip(ip, expected):
    assert truncate_ip(ip) == expected
    assert truncate_ip(truncate_ip(ip)) == expected


@settings(max_examples=300, deadline=None)
@given(st.ip_addresses())
def test_truncation_keeps_the_network_and_is_idempotent(address):
    short = truncate_ip(str(address))
    assert truncate_ip(short) == short
    prefix = 24 if address.version == 4 else 48
    if address.version == 6 and address.ipv4_mapped is not None:
        assert (
            short
            == f"::ffff:{ipaddress.ip_network(f'{address.ipv4_mapped}/24', strict=False).network_address}"
        )
    else:
        network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
        assert ipaddress.ip_address(short) == network.network_address


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))
def test_nothing_raises_on_garbage(value):
    normalize_email(value)
    normalize_phone(value)
    short = truncate_ip(value)
    assert short == "" or ipaddress.ip_address(short)
    user = {"email": value, "phone": value}
    assert set(apply_policy(user, "hash") or {}) <= {"email_md5", "email_sha256", "phone_md5", "phone_sha256"}
    assert apply_policy(user, "drop") == {}
