"""Thread names the operating system shows (trackway/osname.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from trackway.osname import NAMES, name_thread


def named_in_thread(name: str) -> str:
    """The comm /proc shows for a new thread once it called ``name_thread(name)``."""
    seen: list[str] = []

    def run() -> None:
        name_thread(name)
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().rstrip("\n"))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen[0]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        *((n, n) for n in NAMES),
        ("a-name-of-twenty-bytes", "a-name-of-twent"),  # Linux keeps 15 bytes
    ],
)
def test_a_thread_shows_its_name(name: str, shown: str) -> None:
    assert named_in_thread(name) == shown


def test_naming_a_thread_leaves_the_others_as_they_were() -> None:
    mine = Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text()
    named_in_thread("tw-other")
    assert Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text() == mine
