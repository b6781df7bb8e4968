"""Apply stored events, in store order, to the derived state.

``apply(state, event, seq)`` is the one entry point: ingestion calls it for each
event of a batch on a state prefetched from the store (``store/state_tables.py``),
``trackway rebuild`` on an empty state for every event ordered by ``seq``. Pure: the
same events in the same order give the same state.
"""

from __future__ import annotations

from trackway.model import Event
from trackway.state.carts import apply_cart
from trackway.state.identity import resolve
from trackway.state.memory import MemoryState
from trackway.state.orders import apply_order
from trackway.state.procedures import apply_procedure

CART_EVENTS = frozenset({"add_to_cart", "remove_from_cart", "update_cart", "purchase"})


def apply(state: MemoryState, event: Event, seq: int) -> str | None:
    """Update ``state`` with one stored event; returns the event's person (None if none)."""
    at = event.timestamp or event.received_at
    assert at is not None, "stored events have a timestamp"
    person = resolve(state, event)
    if person is not None and event.name in CART_EVENTS:
        apply_cart(state, event, person, at)
    apply_order(state, event, person, at, seq)
    if "procedure_id" in event.properties:
        apply_procedure(state, event, person, at)
    return person
