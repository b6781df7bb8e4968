"""Every message the example and hostile corpora produce reads right.

For each payload of :mod:`tests.dialects.corpus` (the examples, every documented event in
every dialect, their mutations and the fuzzers' hostile text over them), decoded in the
dialect it is written in and with ``auto``, no message:

- says ``null (null)``, or ``got null`` for a key the payload does not have;
- puts "a" before a vowel sound or "an" before a consonant sound (``a add_shipping_info``,
  ``an user property``);
- comes as a warning on a path that also has an error (for the same event);
- names another vendor than the one whose payload it is (an InSend payload described as
  Convead).
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache

import pytest

import trackway
from tests.dialects.corpus import at_path, bases, hostile_texts, payloads
from trackway import dialects
from trackway.issues import MISSING, Issue
from trackway.model import encode_json

# -- articles ---------------------------------------------------------------------------
# Checked with their own word lists, not with trackway.issues.article (which writes them).
_WORD = re.compile(r"\b(a|an) ([\"'`(]?)([A-Za-z][\w.-]*)")
_YOU_SOUND = ("user", "use", "usual", "unique", "unit", "uni", "utility", "ua", "url", "utf", "uk")
_SILENT_H = ("hour", "honest", "heir")
_LETTER_VOWEL = frozenset("AEFHILMNORSX")  # an MD5, an SHA-256, an HTTP header, an ISO code


def wants_an(word: str) -> bool:
    """Whether ``word`` is said with a vowel sound first (so takes "an")."""
    if (word.isupper() and len(word) > 1) or re.fullmatch(r"[a-z]+\d+", word):  # read letter by letter
        return word[0].upper() in _LETTER_VOWEL
    low = word.lower()
    if low.startswith(_SILENT_H):
        return True
    if low.startswith(_YOU_SOUND) or low.startswith(("one", "eu")):
        return False
    return low[0] in "aeiou"


def article_errors(message: str) -> list[str]:
    out = []
    for art, _quote, word in _WORD.findall(message):
        if (art == "an") != wants_an(word):
            out.append(f"{art} {word}")
    return out


@pytest.mark.parametrize(
    ("message", "wrong"),
    [
        ("expected 'value' on a add_shipping_info event", ["a add_shipping_info"]),
        ("expected an user property name", ["an user"]),
        ("expected an add_to_cart event, a user property, an MD5 hash, a UA product", []),
        ("expected an md5 hash or an sha256 hash, a GA4 item, an 'update_cart' event", []),
        ("a item and an cart", ["a item", "an cart"]),
    ],
)
def test_the_article_check_finds_what_it_should(message, wrong):
    assert article_errors(message) == wrong


# -- vendors ----------------------------------------------------------------------------
# Vendor names as messages write them (and the JS calls), case-sensitive: detection notes
# name dialects by their lower-case ids ("insend shares this wire format"), which is right.
VENDORS = {
    "Convead": "convead",
    "convead(": "convead",
    "InSend": "insend",
    "insend(": "insend",
    "Commanders Act": "commanders-act",
    "cact(": "commanders-act",
    "Koalect": "koalect",
    "Adobe": "adobe-dtm",
}


def foreign_vendor(dialect: str, message: str, sent: str) -> str | None:
    """A vendor other than ``dialect``'s named in ``message`` (and not quoted from the
    payload's own text ``sent``, such as Koalect's 'Koalect Platform')."""
    for word, owner in VENDORS.items():
        if word in message and owner != dialect and word not in sent:
            return word
    return None


# -- the scan ---------------------------------------------------------------------------
@cache
def scan() -> dict[str, list[str]]:
    """Every defect found, by kind, with the first examples of each."""
    found: dict[str, list[str]] = defaultdict(list)

    def report(kind: str, what: str) -> None:
        if len(found[kind]) < 20:
            found[kind].append(what)

    for dialect, payload in payloads():
        for name in (dialect, "auto"):
            try:
                decoded = trackway.decode(name, payload)
            except trackway.ParseError:  # a payload replaced by a string is read as text
                continue
            check(payload, decoded, report)
    for dialect, text in hostile_texts():
        try:
            payload = trackway.parse(text)
        except trackway.ParseError:
            continue
        for name in (dialect, "auto"):
            check(payload, trackway.decode(name, text), report)
    return dict(found)


def check(payload, decoded: trackway.Decoded, report) -> None:
    severities: dict[tuple[int, str], set[str]] = defaultdict(set)
    sent = encode_json(payload).decode()
    for issue in decoded.issues:
        m = issue.message
        where = f"{decoded.dialect} {issue.path}: {m}"
        if "null (null)" in m:
            report("null (null)", where)
        if "got null" in m and at_path(payload, issue.path) is MISSING:
            report("got null for an absent key", where)
        for wrong in article_errors(m):
            if wrong not in sent:  # a value quoted from the payload ('a a'), not the message's English
                report(f"article: {wrong}", where)
        vendor = foreign_vendor(decoded.dialect, m, sent) if decoded.dialect in dialects.names() else None
        if vendor is not None:
            report(f"{decoded.dialect} message names {vendor}", where)
        severities[(issue.event, issue.path)].add(str(issue.severity))
    for (event, path), seen in severities.items():
        if len(seen) == 2:
            both = [i for i in decoded.issues if (i.event, i.path) == (event, path)]
            report("a warning and an error on one path", f"{decoded.dialect} {path}: {_codes(both)}")


def _codes(issues: list[Issue]) -> str:
    return ", ".join(f"{i.severity}:{i.code}" for i in issues)


@pytest.mark.parametrize(
    "kind",
    [
        "null (null)",
        "got null for an absent key",
        "article",
        "a warning and an error on one path",
        "message names",
    ],
)
def test_no_message_of_the_corpora_has_the_defect(kind):
    defects = {k: v for k, v in scan().items() if kind in k}
    assert not defects, defects


def test_the_corpus_reaches_the_places_the_defects_were_found():
    """The corpus decodes the events whose messages were wrong, so the scan can fail."""
    names = set()
    for _dialect, payload in payloads():
        if type(payload) is dict and type(payload.get("event")) is str:
            names.add(payload["event"])
    assert {"add_shipping_info", "add_payment_info", "add_to_cart"} <= names


def test_encoding_messages_have_no_null_null_and_no_article_error():
    """The events of every base payload rendered in every dialect: what encoders say too."""
    found = []
    for dialect, payload in bases():
        for event in trackway.decode(dialect, payload).accepted():
            for target in dialects.names():
                _, issues = trackway.encode_with_issues(target, event)
                for issue in issues:
                    wrong = [w for w in article_errors(issue.message) if w not in str(event)]
                    if "null (null)" in issue.message or wrong:
                        found.append((dialect, target, issue.path, issue.message))
    assert not found, found[:10]
