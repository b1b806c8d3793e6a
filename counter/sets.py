"""Set tracking against a target (3 x 15 by default).

A set opens with its first rep (or an explicit start from the button or page) and closes
after ``rest_s`` without a rep, on an explicit end, or when the recording ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from counter.config import CounterConfig
from counter.events import BOUNCING, TOO_FAST, RepEvent, SetEndEvent


@dataclass
class SetRecord:
    """One set: its number, rep events so far and, once finished, how it ended."""

    number: int
    start_s: float
    reps: list[RepEvent] = field(default_factory=list)
    end_s: float | None = None
    reason: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "set": self.number,
            "reps": len(self.reps),
            "start_s": round(self.start_s, 3),
            "end_s": None if self.end_s is None else round(self.end_s, 3),
            "reason": self.reason,
            "flags": [list(r.flags) for r in self.reps],
            "bouncing": sum(BOUNCING in r.flags for r in self.reps),
            "too_fast": sum(TOO_FAST in r.flags for r in self.reps),
        }


class SetTracker:
    """Numbers reps within sets and decides when a set is over. Times are sample seconds."""

    def __init__(self, config: CounterConfig):
        self.config = config
        self.finished: list[SetRecord] = []
        self.current: SetRecord | None = None
        self.last_activity_s: float | None = None
        self.resting_since_s: float | None = None
        self.stray_reps = 0

    @property
    def next_set_number(self) -> int:
        return len(self.finished) + 1

    def start_set(self, t_s: float) -> bool:
        """Open a set explicitly (button/page). False if one is already open."""
        if self.current is not None:
            return False
        self.current = SetRecord(self.next_set_number, t_s)
        self.last_activity_s = None
        self.resting_since_s = None
        return True

    def add_rep(self, start_s: float, top_s: float, end_s: float, emitted_at_s: float,
                lift_s: float, hold_s: float, lower_s: float, rom_deg: float,
                flags: tuple[str, ...]) -> RepEvent:
        if self.current is None:
            self.current = SetRecord(self.next_set_number, start_s)
            self.resting_since_s = None
        cur = self.current
        ev = RepEvent(cur.number, len(cur.reps) + 1, start_s, top_s, end_s, emitted_at_s,
                      lift_s, hold_s, lower_s, rom_deg, flags)
        cur.reps.append(ev)
        self.last_activity_s = end_s
        return ev

    def check_rest(self, t_s: float) -> SetEndEvent | None:
        """Close the open set once ``rest_s`` has passed since its last rep."""
        last = self.last_activity_s
        if last is not None and t_s - last >= self.config.rest_s:
            return self.end_set(t_s, "rest")
        return None

    def end_set(self, t_s: float, reason: str = "manual") -> SetEndEvent | None:
        """Close the open set. An explicitly started set with no reps is dropped, not counted."""
        cur = self.current
        if cur is None:
            return None
        self.current = None
        self.last_activity_s = None
        if not cur.reps:
            return None
        if reason != "manual" and len(cur.reps) < self.config.min_set_reps:
            # One or two stray "reps" (a shuffle, a shift of weight) are not a set. They are
            # reported as discarded and the set number is used again by the next real set.
            self.stray_reps += len(cur.reps)
            return SetEndEvent(cur.number, len(cur.reps), cur.start_s, cur.reps[-1].end_s, t_s,
                               "discarded", sum(BOUNCING in r.flags for r in cur.reps),
                               sum(TOO_FAST in r.flags for r in cur.reps), self.config.target_reps)
        cur.end_s = cur.reps[-1].end_s
        cur.reason = reason
        self.finished.append(cur)
        self.resting_since_s = t_s if reason != "rest" else cur.end_s
        return SetEndEvent(cur.number, len(cur.reps), cur.start_s, cur.end_s, t_s, reason,
                           sum(BOUNCING in r.flags for r in cur.reps),
                           sum(TOO_FAST in r.flags for r in cur.reps),
                           self.config.target_reps)

    def undo_last_rep(self) -> RepEvent | None:
        """Remove the newest rep of the open set (a miscount the user corrects)."""
        cur = self.current
        if cur is None or not cur.reps:
            return None
        ev = cur.reps.pop()
        self.last_activity_s = cur.reps[-1].end_s if cur.reps else cur.start_s
        return ev

    @property
    def target_met(self) -> bool:
        done = sum(len(s.reps) >= self.config.target_reps for s in self.finished)
        if self.current is not None and len(self.current.reps) >= self.config.target_reps:
            done += 1
        return done >= self.config.target_sets

    def snapshot(self) -> dict[str, Any]:
        cur = self.current
        last = cur.reps[-1] if cur is not None and cur.reps else (
            self.finished[-1].reps[-1] if self.finished else None)
        return {
            "target_sets": self.config.target_sets,
            "target_reps": self.config.target_reps,
            "set": cur.number if cur is not None else self.next_set_number,
            "in_set": cur is not None,
            "reps": len(cur.reps) if cur is not None else 0,
            "current_flags": [list(r.flags) for r in cur.reps] if cur is not None else [],
            "sets": [s.summary() for s in self.finished],
            "target_met": self.target_met,
            "last_rep": last.to_dict() if last is not None else None,
            "resting_since_s": self.resting_since_s,
            "stray_reps": self.stray_reps,
        }
