"""Seeded, realistic demo traffic for Trackway: a ground truth and its wire requests.

:func:`generate` simulates shop and donation visits (lists, products, carts,
checkouts, orders and their status updates, full and partial refunds, guests who
log in, two users on one device, Koalect procedures abandoned at every step, project
events, searches) and a share of invalid attempts, each with the reason it must be
rejected. :class:`Dataset.truth <trackway.demo.truth.Truth>` says what happened in
plain dataclasses that do not depend on Trackway's decoders;
:meth:`Dataset.requests` renders it into HTTP requests for every endpoint and
dialect (see :mod:`trackway.demo.render`). Pure: no I/O, no network; the same seed
gives the same truth and byte-identical requests.
"""

from trackway.demo.generate import Dataset, estimate_events, estimate_sessions, generate
from trackway.demo.render import Keys, Request
from trackway.demo.truth import Action, Line, Person, Procedure, Session, Truth

__all__ = [
    "Action",
    "Dataset",
    "Keys",
    "Line",
    "Person",
    "Procedure",
    "Request",
    "Session",
    "Truth",
    "estimate_events",
    "estimate_sessions",
    "generate",
]
