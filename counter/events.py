"""Events the counter emits. Every time is sample time in seconds (the trace's ``t_s``)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Union

BOUNCING = "bouncing"
TOO_FAST = "too_fast"


@dataclass(frozen=True)
class RepEvent:
    """One counted calf raise.

    ``start_s``: heel starts to rise; ``top_s``: middle of the hold at the top;
    ``end_s``: heel back down; ``emitted_at_s``: sample time at which the counter knew.
    ``lift_s``/``hold_s``/``lower_s``: phase durations. ``rom_deg``: range of motion, the
    rotation of the strap between bottom and top in degrees (shank tilt just above the ankle,
    foot pitch on the instep). ``flags``: subset of {"bouncing", "too_fast"}.
    """

    set: int
    rep: int
    start_s: float
    top_s: float
    end_s: float
    emitted_at_s: float
    lift_s: float
    hold_s: float
    lower_s: float
    rom_deg: float
    flags: tuple[str, ...] = ()
    type: str = field(default="rep", init=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["flags"] = list(self.flags)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 3)
        return d


@dataclass(frozen=True)
class SetEndEvent:
    """A finished set. ``reason``: "rest" (no rep for ``rest_s``), "manual" (button or page),
    "end" (recording or session ended), "discarded" (fewer than ``min_set_reps`` reps that
    ended by themselves: not a set, and its number is used again)."""

    set: int
    reps: int
    start_s: float
    end_s: float
    emitted_at_s: float
    reason: str
    bouncing: int
    too_fast: int
    target_reps: int
    type: str = field(default="set_end", init=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 3)
        return d


Event = Union[RepEvent, SetEndEvent]
