"""Koalect procedures: per procedure and person, how far they got.

Every Koalect event carrying ``procedure_id`` updates the row of that procedure and
person: ``view_step`` records the step (``step_index``, ``step_name``; ``success`` is
the last step of every category), ``checkout`` (canonical ``begin_checkout``) the
checkout, ``transaction`` (``purchase``) the transaction id and amount, ``execution``
the execution. Slug, category and target come from the procedure context.
"""

from __future__ import annotations

from datetime import datetime

from trackway.model import Event
from trackway.state.keys import transaction_id
from trackway.state.memory import MemoryState
from trackway.state.model import Procedure, Step


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def apply_procedure(state: MemoryState, event: Event, person: str | None, at: datetime) -> None:
    props = event.properties
    proc_id = props.get("procedure_id")
    if not isinstance(proc_id, str) or not proc_id:
        return
    key = (event.property, proc_id, person or "")
    proc = state.procedures.get(key)
    if proc is None:
        proc = Procedure(
            property=event.property, procedure_id=proc_id, person_id=person or "", first_at=at, last_at=at
        )
    for attr, wire in (
        ("slug", "procedure_slug"),
        ("category", "procedure_category"),
        ("target_type", "procedure_target_type"),
        ("target_id", "procedure_target_id"),
    ):
        value = _text(props.get(wire))
        if value is not None:
            setattr(proc, attr, value)
    c = event.commerce
    if event.name == "view_step":
        index = props.get("step_index")
        step = Step(index=index if type(index) is int else None, name=_text(props.get("step_name")), at=at)
        if not any(s.index == step.index and s.name == step.name for s in proc.steps):
            proc.steps = [*proc.steps, step]
        if step.name == "success" and proc.success_at is None:
            proc.success_at = at
    elif event.name == "begin_checkout":
        proc.checkout_at = proc.checkout_at or at
    elif event.name == "purchase" and c is not None:
        proc.transaction_id = transaction_id(event) or proc.transaction_id
        proc.value = c.value if c.value is not None else proc.value
        proc.currency = c.currency or proc.currency
    elif event.name == "execution":
        proc.executed_at = proc.executed_at or at
        proc.execution_id = _text(props.get("execution_id")) or proc.execution_id
    proc.first_at = min(proc.first_at, at)
    proc.last_at = max(proc.last_at, at)
    state.touch_procedure(proc)


def _merge_into(mine: Procedure, theirs: Procedure) -> None:
    for step in theirs.steps:
        if not any(s.index == step.index and s.name == step.name for s in mine.steps):
            mine.steps = [*mine.steps, step]
    mine.steps = sorted(mine.steps, key=lambda s: s.at)
    for attr in (
        "slug",
        "category",
        "target_type",
        "target_id",
        "transaction_id",
        "value",
        "currency",
        "execution_id",
    ):
        if getattr(mine, attr) is None:
            setattr(mine, attr, getattr(theirs, attr))
    for attr in ("success_at", "checkout_at", "executed_at"):
        a, b = getattr(mine, attr), getattr(theirs, attr)
        setattr(mine, attr, min(a, b) if a is not None and b is not None else a or b)
    mine.first_at = min(mine.first_at, theirs.first_at)
    mine.last_at = max(mine.last_at, theirs.last_at)


def move_procedures(state: MemoryState, prop: str, source: str, target: str) -> None:
    """A guest's procedures become the user's; the same procedure on both sides merges."""
    for proc_id in sorted(state.procedures_of.pop((prop, source), set())):
        proc = state.procedures.get((prop, proc_id, source))
        if proc is None:
            continue
        state.drop_procedure(proc)
        mine = state.procedures.get((prop, proc_id, target))
        if mine is None:
            proc.person_id = target
            state.touch_procedure(proc)
        else:
            _merge_into(mine, proc)
            state.touch_procedure(mine)
