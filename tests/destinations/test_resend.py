"""trackway.destinations.resend: replay, retry and test sends, with the forwarder's rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from trackway.destinations import configured, types
from trackway.destinations.base import Outgoing
from trackway.destinations.resend import resend, sample
from trackway.destinations.retry import Answer

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
SECRET = "whsec_Very-Secret-42"
OPTIONS: dict[str, dict[str, Any]] = {
    "webhook": {"url": "https://hook.example/in", "secret": SECRET},
    "segment": {"write_key": SECRET},
    "ga4": {"measurement_id": "G-TEST1", "api_secret": SECRET},
    "commanders-act": {"site": "1234", "token": SECRET},
    "convead": {"app_key": SECRET},
    "insend": {"app_key": SECRET},
}


def _destination(kind: str = "webhook", **table: Any) -> configured.Destination:
    return configured.one("shop", "out", {"type": kind, **OPTIONS[kind], **table})


class Script:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.got: list[Outgoing] = []

    def __call__(self, request: Outgoing) -> Answer:
        self.got.append(request)
        return self.answers.pop(0) if self.answers else Answer(200)


def test_every_type_is_listed_here() -> None:
    assert set(OPTIONS) == set(types.types())


@pytest.mark.parametrize("kind", sorted(OPTIONS))
def test_the_test_event_is_sent_by_every_type_without_a_refusal(kind: str) -> None:
    send = Script()
    report = resend(_destination(kind), [sample("shop", NOW)], send, now=NOW, debug=True)
    assert report.refused == [] and report.skipped == {}
    assert report.delivered == {report.sent[0].events[0]} and report.sent[0].events[0].startswith(
        "trackway-test-"
    )
    if kind == "ga4":
        assert "/debug/mp/collect" in send.got[0].url  # Google's validation endpoint


def test_a_retryable_answer_is_tried_again_after_its_retry_after() -> None:
    waits: list[float] = []
    send = Script(Answer(503, {"retry-after": "7"}), Answer(200))
    report = resend(_destination(), [sample("shop", NOW)], send, now=NOW, sleep=waits.append)
    assert waits == [7.0] and len(send.got) == 2 and not report.failed


def test_a_client_error_fails_at_once_with_the_answer_and_no_secret() -> None:
    send = Script(Answer(400, {}, f"bad request for {SECRET}"))
    report = resend(_destination(), [sample("shop", NOW)], send, now=NOW, sleep=lambda s: None)
    assert len(send.got) == 1
    [failed] = report.failed
    assert failed.status == 400 and "bad request" in failed.body
    assert SECRET not in failed.body and SECRET not in failed.detail


def test_attempts_are_bounded() -> None:
    send = Script(*[Answer(500)] * 10)
    report = resend(_destination(), [sample("shop", NOW)], send, now=NOW, sleep=lambda s: None, attempts=3)
    assert len(send.got) == 3 and report.failed[0].status == 500


def test_the_selection_applies_and_other_properties_are_skipped() -> None:
    mine, theirs = sample("shop", NOW), sample("elsewhere", NOW)
    report = resend(_destination(events=["refund"]), [mine, theirs], Script(), now=NOW)
    assert report.sent == [] and report.skipped == {"property": 1, "name": 1}
