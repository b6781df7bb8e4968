"""What to do with a destination's answer: delivered, try again (when), or dead-letter. Pure.

- 2xx: delivered.
- 408, 429, 5xx, and no answer at all (a timeout, a refused or reset connection, any
  exception ``send`` returned): retried, after :func:`backoff` (exponential, full jitter
  from an injected random, capped) or the answer's ``Retry-After`` (seconds or an HTTP
  date, capped) when it has one.
- Any other status (1xx, 3xx, other 4xx): dead-lettered at once, the response kept:
  sending the same request again cannot help.
- A request still failing when the oldest of its events was received more than
  ``max_age_s`` ago is dead-lettered with the last error (:func:`decide`).

Secrets never leave through what is kept: :func:`redact_url` and :func:`redact_headers`
hide the query values (GA4 puts ``api_secret`` there) and credential headers, and
:class:`Scrubber` removes known secret values from any text (a response echoing the
request, an exception naming the URL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from trackway.errors import ConfigError

DELIVERED = "delivered"
RETRY = "retry"
DEAD = "dead"

RETRIED_STATUSES = frozenset({408, 429})
EXCERPT = 500  # characters of a response body kept
HIDDEN = "[redacted]"
# Request headers whose value is a credential (lower case).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"})


@dataclass(frozen=True)
class Answer:
    """What ``send`` got for one request: a status with the response's headers and the
    start of its body, or ``error``, the exception that stopped the request (no answer)."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    error: BaseException | None = None

    def describe(self) -> str:
        """The answer in words (for a reason; not yet scrubbed of secrets)."""
        if self.error is not None or self.status is None:
            kind = type(self.error).__name__ if self.error is not None else "no answer"
            return f"no answer: {kind}: {self.error}" if self.error is not None else kind
        excerpt = self.body[:EXCERPT]
        return f"HTTP {self.status}" + (f": {excerpt}" if excerpt else "")


@dataclass(frozen=True)
class Policy:
    """Retry settings. ``base_s`` and ``cap_s``: the backoff's first ceiling and its
    cap; ``retry_after_cap_s``: the longest ``Retry-After`` honoured; ``max_age_s``: how
    long after its oldest event was received a request is still retried."""

    base_s: float = 1.0
    cap_s: float = 300.0
    retry_after_cap_s: float = 3600.0
    max_age_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        for name in ("base_s", "cap_s", "retry_after_cap_s", "max_age_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(
                    f"destination retry {name}: expected a number of seconds above 0, got {value!r}; "
                    "fix it in the destination's settings"
                )


@dataclass(frozen=True)
class Verdict:
    """What to do with a request: ``kind`` :data:`DELIVERED`, :data:`RETRY` (after
    ``delay_s`` seconds) or :data:`DEAD`; ``reason`` says why (not yet scrubbed)."""

    kind: str
    reason: str
    delay_s: float = 0.0


def classify(answer: Answer) -> str:
    """:data:`DELIVERED`, :data:`RETRY` or :data:`DEAD` for ``answer`` (see the module docstring)."""
    if answer.error is not None or answer.status is None:
        return RETRY
    status = answer.status
    if 200 <= status < 300:
        return DELIVERED
    if status in RETRIED_STATUSES or 500 <= status < 600:
        return RETRY
    return DEAD


def backoff(attempt: int, policy: Policy, random: Callable[[], float]) -> float:
    """The delay before retry number ``attempt`` (1: the first retry): full jitter, a
    uniform draw (``random()`` in [0, 1)) below ``min(cap_s, base_s * 2**(attempt-1))``."""
    ceiling = min(policy.cap_s, policy.base_s * 2.0 ** min(max(attempt - 1, 0), 60))
    return random() * ceiling


def retry_after(headers: Mapping[str, str], now: datetime, cap_s: float) -> float | None:
    """The delay a ``Retry-After`` header asks for, in seconds (capped at ``cap_s``;
    0 for a date already past), or None when there is none or it cannot be read."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # delay-seconds is ASCII digits ("²".isdigit() too)
        return min(float(text), cap_s)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), cap_s)


def decide(
    answer: Answer,
    *,
    attempt: int,
    oldest: datetime,
    now: datetime,
    policy: Policy,
    random: Callable[[], float],
) -> Verdict:
    """What to do after ``answer``, the ``attempt``-th try (1: the first) of a request
    whose oldest event was received at ``oldest``."""
    kind = classify(answer)
    said = answer.describe()
    if kind == DELIVERED:
        return Verdict(DELIVERED, said)
    if kind == DEAD:
        return Verdict(
            DEAD,
            f"the destination refused the request ({said}); sending it again cannot help: fix the "
            "destination's options or the events, then retry the dead letter",
        )
    age = (now - oldest).total_seconds()
    if age > policy.max_age_s:
        return Verdict(
            DEAD,
            f"gave up after {attempt} attempts: the oldest event was received {age:,.0f} s ago, over the "
            f"maximum age of {policy.max_age_s:,.0f} s; last error: {said}. Retry the dead letter once "
            "the destination is reachable",
        )
    delay = retry_after(answer.headers, now, policy.retry_after_cap_s)
    if delay is None or answer.status is None:
        delay = backoff(attempt, policy, random)
    return Verdict(RETRY, f"attempt {attempt} failed: {said}", delay)


def redact_url(url: str) -> str:
    """``url`` with every query value and any user info hidden (names kept)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if "@" in parts.netloc:
        netloc = f"{HIDDEN}@{netloc}"
    query = "&".join(f"{k}={HIDDEN}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with credential headers (:data:`SECRET_HEADERS`) hidden."""
    return {k: (HIDDEN if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def secrets_of(url: str, headers: Mapping[str, str]) -> set[str]:
    """The secret values a request carries: its query values, user info and credential
    headers (each whole and each word of it, so ``Bearer <token>`` gives the token)."""
    found: set[str] = set()
    parts = urlsplit(url)
    if "@" in parts.netloc:
        found.update(parts.netloc.rsplit("@", 1)[0].split(":"))
    found.update(v for _, v in parse_qsl(parts.query, keep_blank_values=True))
    found.update(pair.partition("=")[2] for pair in parts.query.split("&"))  # as written (%-encoded)
    for key, value in headers.items():
        if key.lower() in SECRET_HEADERS:
            found.add(value)
            found.update(value.split())
    return found


class Scrubber:
    """Removes known secret values from text. Values shorter than ``MIN`` characters are
    ignored (hiding every "1" would garble a message without protecting anything)."""

    MIN = 4

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        new = {s for s in secrets if isinstance(s, str) and len(s) >= self.MIN} - self._secrets
        if new:
            self._secrets |= new
            ordered = sorted(self._secrets, key=len, reverse=True)  # the longest first
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(HIDDEN, text) if self._pattern is not None else text
