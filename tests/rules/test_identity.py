"""User identifier rules: what is accepted as sent, what is read normalised, what is rejected."""

from __future__ import annotations

import pytest

from trackway.issues import Issues
from trackway.rules import identity
from trackway.rules.values import INVALID

EMAIL = identity.email
PHONE = identity.phone
LENIENT = identity.phone_lenient
MD5 = identity.MD5
SHA256 = identity.SHA256
GENDER = identity.gender
DIGEST = "8eb1b522f60d11fa897de1dc6351b7e8"

# (rule, value): accepted as sent, no issue
GOOD = [
    (EMAIL, "jane.doe@example.org"),
    (EMAIL, "Jane.Doe@example.org"),  # the part before @ keeps its case
    (PHONE, "+33612345678"),
    (PHONE, "+14155552671"),
    (LENIENT, "+79123456789"),
    (MD5, DIGEST),
    (SHA256, "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f"),
    (GENDER, "m"),
    (GENDER, "f"),
]

# (rule, value, read as): normalised, kept, one VALUE_NORMALISED warning
NORMALISED = [
    (EMAIL, " Jane.Doe@Example.org ", "Jane.Doe@example.org"),
    (EMAIL, "jane@EXAMPLE.ORG", "jane@example.org"),
    (EMAIL, "jane@example.org\n", "jane@example.org"),
    (EMAIL, "\u200bjane@example.org\u00a0", "jane@example.org"),  # zero-width and no-break spaces
    (PHONE, "+33 6 12 34 56 78", "+33612345678"),
    (PHONE, "+33 (0)6 12-34-56-78", "+33612345678"),
    (PHONE, "+1 (415) 555-2671", "+14155552671"),
    (PHONE, "+33.6.12.34.56.78", "+33612345678"),
    (PHONE, " +33612345678 ", "+33612345678"),
    (LENIENT, "+7 912 345-67-89", "+79123456789"),
    (MD5, DIGEST.upper(), DIGEST),
    (MD5, f" {DIGEST} ", DIGEST),
    (GENDER, "M", "m"),
    (GENDER, " f ", "f"),
]

# (rule, value, code): rejected, no reading saves it
BAD = [
    (EMAIL, "jane.example.org", "FORMAT_INVALID"),
    (EMAIL, "jane @example.org", "FORMAT_INVALID"),  # a space inside is no spacing around
    (EMAIL, " ", "FORMAT_INVALID"),
    (EMAIL, 42, "TYPE_INVALID"),
    (PHONE, "06 12 34 56 78", "FORMAT_INVALID"),  # national: which country?
    (PHONE, "0033612345678", "FORMAT_INVALID"),
    (PHONE, "+33 6 12 34", "FORMAT_INVALID"),  # too short for France
    (PHONE, "+1-800-FLOWERS", "FORMAT_INVALID"),  # letters are no separators
    (PHONE, 33612345678, "FORMAT_INVALID"),
    (LENIENT, 555555, "TYPE_INVALID"),
    (MD5, DIGEST[:-1], "HASH_INVALID"),
    (MD5, DIGEST[:-1] + "g", "HASH_INVALID"),
    (SHA256, DIGEST, "HASH_INVALID"),  # an md5 is no sha256
    (GENDER, "male", "ENUM_INVALID"),
    (GENDER, "", "ENUM_INVALID"),
]


def run(rule, value):
    issues = Issues()
    return rule(value, "$.user.x", issues), issues.items


@pytest.mark.parametrize(("rule", "value"), GOOD)
def test_a_tidy_value_is_kept_as_sent(rule, value):
    assert run(rule, value) == (value, [])


@pytest.mark.parametrize(("rule", "value", "tidy"), NORMALISED)
def test_an_untidy_but_clear_value_is_normalised_with_a_warning(rule, value, tidy):
    out, issues = run(rule, value)
    assert out == tidy
    [issue] = issues
    assert (issue.path, issue.code, issue.is_error) == ("$.user.x", "VALUE_NORMALISED", False)
    assert repr(tidy) in issue.message and "event is kept" in issue.message


@pytest.mark.parametrize(("rule", "value", "code"), BAD)
def test_what_no_reading_saves_is_an_error(rule, value, code):
    out, issues = run(rule, value)
    assert out is INVALID
    assert [(i.code, i.is_error) for i in issues] == [(code, True)]


def test_a_convead_phone_no_reading_saves_is_kept_with_a_warning():
    out, issues = run(LENIENT, "555555")
    assert out == "555555"
    assert [(i.code, i.is_error) for i in issues] == [("FORMAT_INVALID", False)]
