"""trackway.destinations.retry: classifying answers, backoff, Retry-After, giving up, redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trackway.destinations.retry import (
    DEAD,
    DELIVERED,
    HIDDEN,
    RETRY,
    Answer,
    Policy,
    Scrubber,
    backoff,
    classify,
    decide,
    redact_headers,
    redact_url,
    retry_after,
    secrets_of,
)
from trackway.errors import ConfigError

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (Answer(200), DELIVERED),
        (Answer(204), DELIVERED),
        (Answer(299), DELIVERED),
        (Answer(408), RETRY),
        (Answer(429), RETRY),
        (Answer(500), RETRY),
        (Answer(503), RETRY),
        (Answer(599), RETRY),
        (Answer(error=TimeoutError("timed out")), RETRY),
        (Answer(error=ConnectionResetError("reset by peer")), RETRY),
        (Answer(error=ConnectionRefusedError("refused")), RETRY),
        (Answer(400), DEAD),
        (Answer(401), DEAD),
        (Answer(403), DEAD),
        (Answer(404), DEAD),
        (Answer(413), DEAD),
        (Answer(422), DEAD),
        (Answer(301), DEAD),
        (Answer(100), DEAD),
    ],
)
def test_classify(answer: Answer, kind: str) -> None:
    assert classify(answer) == kind


@pytest.mark.parametrize(
    ("attempt", "draw", "expected"),
    [
        (1, 0.5, 0.5),  # base 1 s: up to 1 s
        (2, 0.5, 1.0),  # up to 2 s
        (3, 0.25, 1.0),  # up to 4 s
        (10, 0.5, 30.0),  # 512 s capped at 60
        (200, 0.999, 59.94),  # no overflow far out
        (1, 0.0, 0.0),
    ],
)
def test_backoff_full_jitter_capped(attempt: int, draw: float, expected: float) -> None:
    policy = Policy(base_s=1.0, cap_s=60.0)
    assert backoff(attempt, policy, lambda: draw) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": " 7 "}, 7.0),
        ({"Retry-After": "99999"}, 600.0),  # capped
        ({"Retry-After": "Sat, 05 Dec 2026 03:02:00 GMT"}, 120.0),
        ({"Retry-After": "Sat, 05 Dec 2026 02:00:00 GMT"}, 0.0),  # already past
        ({"Retry-After": "Sun, 06 Dec 2026 03:00:00 GMT"}, 600.0),  # capped
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-5"}, None),
        # hostile answers: never an exception, never more than the cap
        ({"Retry-After": "\u00b2"}, None),  # a digit to str.isdigit, not to float()
        ({"Retry-After": "\u0663\u0660"}, None),  # Arabic-Indic digits: not delay-seconds
        ({"Retry-After": "9" * 5000}, 600.0),
        ({"Retry-After": "1e999"}, None),
        ({"Retry-After": "Sat, 05 Dec 99999 03:00:00 GMT"}, None),
        ({"Retry-After": "\udc80"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers, NOW, 600.0) == expected


def _decide(answer: Answer, attempt: int = 1, age_s: float = 10.0, draw: float = 0.5) -> object:
    policy = Policy(base_s=2.0, cap_s=100.0, retry_after_cap_s=600.0, max_age_s=3600.0)
    return decide(
        answer,
        attempt=attempt,
        oldest=NOW - timedelta(seconds=age_s),
        now=NOW,
        policy=policy,
        random=lambda: draw,
    )


@pytest.mark.parametrize(
    ("answer", "attempt", "age_s", "kind", "delay", "says"),
    [
        (Answer(200), 1, 10, DELIVERED, 0.0, "HTTP 200"),
        (Answer(500, body="boom"), 1, 10, RETRY, 1.0, "HTTP 500: boom"),
        (Answer(500), 3, 10, RETRY, 4.0, "attempt 3"),
        (Answer(429, {"Retry-After": "42"}), 1, 10, RETRY, 42.0, "HTTP 429"),
        (Answer(503, {"Retry-After": "Sat, 05 Dec 2026 03:01:00 GMT"}), 1, 10, RETRY, 60.0, "503"),
        (Answer(error=TimeoutError("read timed out")), 2, 10, RETRY, 2.0, "TimeoutError: read timed out"),
        (Answer(400, body='{"error":"bad"}'), 1, 10, DEAD, 0.0, 'HTTP 400: {"error":"bad"}'),
        (Answer(500, body="still down"), 9, 3601, DEAD, 0.0, "last error: HTTP 500: still down"),
        (Answer(error=ConnectionResetError("reset")), 9, 7200, DEAD, 0.0, "maximum age of 3,600 s"),
        (Answer(200), 9, 7200, DELIVERED, 0.0, "HTTP 200"),  # delivered late is delivered
    ],
)
def test_decide(answer: Answer, attempt: int, age_s: float, kind: str, delay: float, says: str) -> None:
    verdict = _decide(answer, attempt, age_s)
    assert verdict.kind == kind  # type: ignore[attr-defined]
    assert verdict.delay_s == pytest.approx(delay)  # type: ignore[attr-defined]
    assert says in verdict.reason  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "value"),
    [("base_s", 0), ("cap_s", -1), ("retry_after_cap_s", "10"), ("max_age_s", True)],
)
def test_policy_refuses_bad_values(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"destination retry {field}: expected a number of seconds"):
        Policy(**{field: value})  # type: ignore[arg-type]


SECRET = "s3cr3t-ApI-key"
URL = f"https://www.google-analytics.com/mp/collect?measurement_id=G-ABC123&api_secret={SECRET}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            URL,
            f"https://www.google-analytics.com/mp/collect?measurement_id={HIDDEN}&api_secret={HIDDEN}",
        ),
        ("https://user:pw@hook.example/in", f"https://{HIDDEN}@hook.example/in"),
        ("https://hook.example/in", "https://hook.example/in"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_headers() -> None:
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json", "X-Api-Key": "k1234"}
    assert redact_headers(headers) == {
        "Authorization": HIDDEN,
        "Content-Type": "application/json",
        "X-Api-Key": HIDDEN,
    }


def test_scrubber_removes_every_secret_a_request_carries() -> None:
    encoded = "a+b/c%3D%3D"  # a secret as written in a query (%-encoded)
    url = f"https://collect.example/events?tc_s=1234&token={encoded}&api_secret={SECRET}"
    scrub = Scrubber(secrets_of(url, {"Authorization": "Bearer tok-98765"}))
    text = f"ConnectError: {url} failed; echoed Bearer tok-98765 and a b/c== and {SECRET}"
    out = scrub(text)
    for secret in (SECRET, "tok-98765", encoded, "a b/c=="):
        assert secret not in out
    assert out.count(HIDDEN) >= 4
    assert Scrubber(["ab"])("ab cd") == "ab cd"  # too short to be a secret: left alone
