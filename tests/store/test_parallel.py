"""A heavy read runs DuckDB on more threads; the store goes back to its own number after."""

from __future__ import annotations

import threading

from trackway.store.duck import DuckStore


def _threads(store: DuckStore) -> int:
    [(n,)] = store.cursor().execute("SELECT current_setting('threads')").fetchall()
    return int(n)


def test_parallel_sets_and_restores_threads() -> None:
    store = DuckStore(":memory:")
    try:
        assert _threads(store) == 1
        with store.parallel(3):
            assert _threads(store) == 3
            with store.parallel(3):  # a second report at the same time
                assert _threads(store) == 3
            assert _threads(store) == 3  # the first one still runs
        assert _threads(store) == 1
    finally:
        store.close()


def test_parallel_restores_after_an_error_and_from_other_threads() -> None:
    store = DuckStore(":memory:")
    try:
        try:
            with store.parallel(2):
                raise RuntimeError("a report failed")
        except RuntimeError:
            pass
        assert _threads(store) == 1
        seen: list[int] = []

        def report() -> None:
            with store.parallel(2):
                seen.append(_threads(store))

        workers = [threading.Thread(target=report) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert seen == [2, 2, 2, 2]
        assert _threads(store) == 1
    finally:
        store.close()
