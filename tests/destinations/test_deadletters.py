"""trackway.destinations.deadletters: dead letters kept on disk, listed, resolved."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from trackway.destinations.consumer import DeadLetter
from trackway.destinations.deadletters import DeadLetters, summary
from trackway.model import Event, to_json

AT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def _letter(ids: tuple[str, ...], status: int | None = 400) -> DeadLetter:
    payloads = tuple(to_json(Event(name="purchase", dialect="ga4-mp", id=i, property="shop")) for i in ids)
    return DeadLetter(
        "shop.hook", ids, f"HTTP {status}", AT, status, "bad request", "https://x/in", {}, payloads
    )


def test_appended_letters_are_listed_in_order_with_their_events(tmp_path: Path) -> None:
    book = DeadLetters(tmp_path / "d.jsonl")
    book.append(_letter(("e1", "e2")))
    book.append(_letter(("e3",), None))
    pending = DeadLetters(tmp_path / "d.jsonl").pending()  # read back by another reader
    assert [p.n for p in pending] == [1, 2]
    assert [e.id for e in pending[0].decoded()[0]] == ["e1", "e2"]
    assert pending[0].status == 400 and pending[0].response == "bad request" and pending[0].at == AT
    assert summary(pending[1])["events"] == ["e3"] and "payloads" not in summary(pending[1])


def test_a_resolved_letter_is_no_longer_listed_and_numbers_go_on(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    book = DeadLetters(path)
    book.append(_letter(("e1",)))
    book.append(_letter(("e2",)))
    DeadLetters(path).resolve(1, 1)  # the CLI, while the forwarder holds its own object
    book.append(_letter(("e3",)))
    assert [(p.n, p.events) for p in DeadLetters(path).pending()] == [(2, ("e2",)), (3, ("e3",))]
    assert DeadLetters(path).count() == 2


def test_the_tally_counts_the_pending_letters_and_the_events_their_retries_delivered(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    book = DeadLetters(path)
    book.append(_letter(("e1", "e2")))
    book.append(_letter(("e3",)))
    book.append(_letter(("e4",)))
    assert book.tally() == (3, 0)
    DeadLetters(path).resolve(1, 2)
    DeadLetters(path).resolve(3, 1)
    assert DeadLetters(path).tally() == (1, 3)
    with open(path, "ab") as f:  # a resolved line written before they said how many: not counted
        f.write(b'{"resolved":2,"at":"2026-12-05T03:00:00+00:00"}\n')
    assert DeadLetters(path).tally() == (0, 3)


def test_a_line_torn_by_a_crash_is_skipped_and_numbering_resumes(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    DeadLetters(path).append(_letter(("e1",)))
    with open(path, "ab") as f:
        f.write(b'{"n":2,"events":["e2"],"rea')  # the crash
    restarted = DeadLetters(path)
    restarted.append(_letter(("e3",)))
    assert [p.events for p in restarted.pending()] == [("e1",), ("e3",)]
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_missing_file_has_no_letters(tmp_path: Path) -> None:
    assert DeadLetters(tmp_path / "none.jsonl").pending() == []
