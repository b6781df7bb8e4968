"""Which of a batch's requests may be in flight together. No I/O.

A destination sends one request at a time unless it is configured with ``in_flight``
above 1. One at a time keeps its order exactly, but bounds delivery by the round trip:
Convead and InSend take one event a request, so at 30 ms a round trip a destination
delivers at most about 33 events a second. With ``in_flight = N`` up to N requests are
outstanding, and order is kept per *ordering key* instead of per destination:

- a request with a key (:attr:`trackway.destinations.base.Outgoing.order_key`: the
  visitor a Convead form is about, the client a GA4 body is from) is never sent while an
  earlier request with the same key is unfinished (in flight, waiting for a retry, or not
  yet sent), so one visitor's events arrive in the order they were received;
- a request without a key is a barrier: it goes alone, once every earlier request is
  finished, and nothing after it goes before it is finished.

:func:`dispatchable` answers which requests may go now; the forwarder calls it after
each answer, so the window slides rather than waiting for its slowest request.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from trackway.destinations.base import Outgoing

MAX_IN_FLIGHT = 64
# Requests looked at past the first unfinished one, for every slot of the window: a run
# of requests of one key cannot make the forwarder scan a whole batch after each answer.
SCAN_PER_SLOT = 8


def allowed(value: object) -> bool:
    """Whether ``value`` is an ``in_flight`` a destination may have: a whole number from
    1 to :data:`MAX_IN_FLIGHT` (the configuration and the forwarder hold it to the same)."""
    return type(value) is int and 1 <= value <= MAX_IN_FLIGHT


def dispatchable(
    requests: Sequence[Outgoing],
    start: int,
    done: Collection[int],
    pending: Collection[int],
    limit: int,
) -> list[int]:
    """The indices of ``requests`` to send now, in order: ``start`` is the first request
    not finished; ``done`` the finished ones after it; ``pending`` those in flight;
    ``limit`` how many may be in flight at once."""
    room = limit - len(pending)
    if room <= 0:
        return []
    out: list[int] = []
    held: set[str] = set()  # keys of earlier unfinished requests
    first = True  # no unfinished request before this one
    end = min(len(requests), start + max(limit, 1) * SCAN_PER_SLOT)
    for i in range(start, end):
        if i in done:
            continue
        key = requests[i].order_key
        if key is None:  # a barrier: alone, and nothing after it
            if first and not pending:
                out.append(i)
            break
        first = False
        if i in pending or key in held:
            held.add(key)
            continue
        held.add(key)
        out.append(i)
        if len(out) >= room:
            break
    return out
