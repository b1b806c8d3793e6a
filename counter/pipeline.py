"""The whole counting pipeline: samples in, rep and set events out.

``CalfCounter.update`` is the only per-sample entry point; ``run`` (batch) is a loop over
it, so a replayed trace and a live sensor share one code path.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from counter.config import CounterConfig
from counter.detector import MAX_GAP_S as MAX_BRIDGE_S, RepDetector
from counter.events import Event, RepEvent, SetEndEvent
from counter.sample import Sample
from counter.sets import SetTracker

_NO_EVENTS: tuple[Event, ...] = ()


class CalfCounter:
    """Counts calf raises and tracks sets from a stream of IMU samples.

    Time only ever comes from ``Sample.t_s``. Memory is bounded: the detector keeps a fixed
    amount of state; the set tracker keeps the session's reps (a session is finite).
    """

    def __init__(self, config: CounterConfig | None = None):
        self.config = config or CounterConfig()
        self.detector = RepDetector(self.config)
        self.sets = SetTracker(self.config)
        self.t_s: float | None = None
        self._rest_s = self.config.rest_s  # (the config is frozen)

    def update(self, s: Sample) -> tuple[Event, ...]:
        """Feed one sample; return the events it completes (usually none)."""
        t = self.t_s = s[0]
        rep = self.detector.update(s)
        if rep is None:
            # Most samples end no set: the rest is compared here, the set closed only when it
            # is long enough (the tracker's own check_rest, inlined on the hot path).
            last_s = self.sets.last_activity_s
            if last_s is not None and t - last_s >= self._rest_s:
                end = self.sets.end_set(t, "rest")
                if end is not None:
                    return (end,)
            return _NO_EVENTS
        ev = self.sets.add_rep(*rep)
        return (ev,)

    def run(self, samples: Iterable[Sample], finish: bool = True) -> Iterator[Event]:
        """Batch helper: the per-sample ``update`` in a loop, then ``finish``."""
        update = self.update
        for s in samples:
            evs = update(s)
            if evs:
                yield from evs
        if finish:
            yield from self.finish()

    def mark_gap(self, t_s: float, duration_s: float) -> None:
        """The sensor lost samples (fault, FIFO overflow). A short hole is bridged (the next
        sample's timestamp shows it); a longer one restarts the detector's motion state, so a
        half-seen movement is neither counted nor merged with the next one."""
        if duration_s > MAX_BRIDGE_S:
            self.detector.gap(t_s, duration_s)

    def start_set(self) -> bool:
        return self.sets.start_set(self.t_s or 0.0)

    def end_set(self, reason: str = "manual") -> tuple[Event, ...]:
        """Close the open set (the button, or the end of the session). A rep the detector has
        counted but not reported yet (its landing is 0.2 s away) belongs to this set: it is
        reported first."""
        reps = tuple(self.sets.add_rep(*rep) for rep in self.detector.flush())
        ev = self.sets.end_set(self.t_s or 0.0, reason)
        return reps + (ev,) if ev is not None else reps

    def finish(self) -> tuple[Event, ...]:
        """End of recording/session: close the open set."""
        return self.end_set("end")

    def undo_last_rep(self) -> RepEvent | None:
        return self.sets.undo_last_rep()

    def snapshot(self) -> dict[str, Any]:
        """The counter's state as plain data (what the page and the API show)."""
        d = self.sets.snapshot()
        d["t_s"] = self.t_s
        d["signal"] = self.detector.signal
        d["phase"] = self.detector.phase
        return d


def count_trace(path: str, config: CounterConfig | None = None) -> list[Event]:
    """Replay a trace file and return all its events (convenience for tools and tests)."""
    from counter.trace import read_trace

    return list(CalfCounter(config).run(read_trace(path)))


__all__ = ["CalfCounter", "count_trace", "SetEndEvent", "RepEvent"]
