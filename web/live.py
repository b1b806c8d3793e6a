"""The live session: one counter, its history and everyone watching it.

``LiveSession`` is what the sampling thread (sensor or replayed trace), the button and the
page share. Every method is thread-safe. Events go out as plain dicts to listeners (called
synchronously, e.g. the buzzer) and to subscribers (a bounded queue each, e.g. a phone's event
stream): a slow phone loses old plot points, it never slows the sampling loop.
"""
from __future__ import annotations

import collections
import queue
import threading
from dataclasses import replace
from typing import Any, Callable, Iterable

from counter import CalfCounter, CounterConfig, RepEvent, Sample, SetEndEvent
from web.store import HistoryStore

EXERCISES = ("standing", "single_leg", "seated", "donkey", "hack_squat", "leg_press", "farmers_walk")
SENSOR_STATES = ("ok", "reconnecting", "lost", "replay", "none")
PLOT_HZ = 10.0
PLOT_POINTS = 300  # 30 s at 10 Hz
DEFAULT_CARRY_TARGET_S = 60.0


class Subscription:
    """One listener's bounded queue of event dicts."""

    def __init__(self, owner: "LiveSession", maxsize: int = 256):
        self._q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize)
        self._owner = owner
        self.closed = False

    def put(self, ev: dict[str, Any]) -> None:
        try:
            self._q.put_nowait(ev)
        except queue.Full:
            try:  # drop the oldest (a plot point, most likely) rather than block the counter
                self._q.get_nowait()
            except queue.Empty:
                pass
            try:
                self._q.put_nowait(ev)
            except queue.Full:
                pass

    def get(self, timeout_s: float | None = None) -> dict[str, Any] | None:
        try:
            return self._q.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._owner._unsubscribe(self)


class LiveSession:
    """Thread-safe owner of a ``CalfCounter``, the history store and the subscribers."""

    def __init__(self, config: CounterConfig | None = None, store: HistoryStore | None = None,
                 exercise: str = "standing"):
        if exercise not in EXERCISES:
            raise ValueError(f"unknown exercise {exercise!r} (one of {', '.join(EXERCISES)})")
        self.config = config or CounterConfig()
        self.store = store or HistoryStore(":memory:")
        self._lock = threading.RLock()
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self.exercise = exercise
        self.counter = CalfCounter(self.config)
        self.sensor = {"status": "none", "since_s": None, "detail": ""}
        self._plot: collections.deque[tuple[float, float]] = collections.deque(maxlen=PLOT_POINTS)
        self._next_plot_t = float("-inf")
        self._carry: dict[str, Any] | None = None
        self._carries: list[dict[str, Any]] = []
        self.carry_target_s = DEFAULT_CARRY_TARGET_S
        self.samples = 0
        # A session left open by a crash or power cut is closed; everything it counted is kept.
        for sid in self.store.unfinished_sessions():
            self.store.end_session(sid, "interrupted")
        self.session_id = self.store.new_session(exercise, self.config.target_sets, self.config.target_reps)

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, sample: Sample) -> tuple[Any, ...]:
        """One sample from the sensor or a replay; returns the counter's events."""
        with self._lock:
            evs = self.counter.update(sample)
            self.samples += 1
            t = sample[0]
            if t >= self._next_plot_t:
                self._next_plot_t = t + 1.0 / PLOT_HZ
                point = (round(t, 2), round(self.counter.detector.signal, 2))
                self._plot.append(point)
                self._publish({"type": "plot", "t_s": point[0], "value": point[1]})
            for ev in evs:
                self._record(ev)
            return evs

    def feed_many(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            self.feed(s)

    def mark_gap(self, t_s: float, duration_s: float) -> None:
        with self._lock:
            self.counter.mark_gap(t_s, duration_s)
            self._publish({"type": "gap", "t_s": t_s, "duration_s": duration_s})

    def set_sensor_health(self, status: str, since_t_s: float | None = None, detail: str = "") -> None:
        if status not in SENSOR_STATES:
            raise ValueError(f"unknown sensor status {status!r}")
        with self._lock:
            if status == self.sensor["status"] and detail == self.sensor["detail"]:
                return
            self.sensor = {"status": status, "since_s": since_t_s, "detail": detail}
            self._publish({"type": "sensor", **self.sensor})

    def _record(self, ev: RepEvent | SetEndEvent) -> None:
        d = ev.to_dict()
        if isinstance(ev, RepEvent):
            self.store.add_rep(self.session_id, ev)
        else:
            self.store.add_set(self.session_id, ev)
        self._publish(d)
        self._publish_state()

    # -- commands (button, page) ------------------------------------------------------------
    def start_set(self) -> bool:
        with self._lock:
            ok = self.counter.start_set()
            if ok:
                self._publish({"type": "set_start", "set": self.counter.sets.current.number})  # type: ignore[union-attr]
                self._publish_state()
            return ok

    def end_set(self) -> bool:
        with self._lock:
            evs = self.counter.end_set("manual")
            for ev in evs:
                self._record(ev)
            if not evs:
                self._publish_state()
            return bool(evs)

    def toggle_set(self) -> None:
        """The button's short press: start a set, or end the one under way."""
        with self._lock:
            if self.counter.sets.current is None:
                self.start_set()
            else:
                self.end_set()

    def undo_last_rep(self) -> bool:
        with self._lock:
            ev = self.counter.undo_last_rep()
            if ev is None:
                return False
            self.store.undo_rep(self.session_id, ev.set, ev.rep)
            self._publish({"type": "undo", "set": ev.set, "rep": ev.rep})
            self._publish_state()
            return True

    def new_session(self) -> int:
        """Close the set and session under way and start afresh (keeps exercise and target)."""
        with self._lock:
            self._close_locked()
            self.counter = CalfCounter(self.config)
            self._plot.clear()
            self._carries = []
            self.session_id = self.store.new_session(self.exercise, self.config.target_sets,
                                                     self.config.target_reps)
            self._publish({"type": "session", "session_id": self.session_id})
            self._publish_state()
            return self.session_id

    def set_exercise(self, name: str) -> None:
        if name not in EXERCISES:
            raise ValueError(f"unknown exercise {name!r} (one of {', '.join(EXERCISES)})")
        with self._lock:
            self.exercise = name
            self.store.update_session(self.session_id, exercise=name)
            self._publish_state()

    def set_target(self, sets: int, reps: int) -> None:
        with self._lock:
            cfg = replace(self.config, target_sets=sets, target_reps=reps)  # validates
            self.config = cfg
            self.counter.config = cfg
            self.counter.sets.config = cfg
            self.store.update_session(self.session_id, target_sets=sets, target_reps=reps)
            self._publish_state()

    def set_carry_target(self, seconds: float) -> None:
        if not 5.0 <= seconds <= 1800.0:
            raise ValueError(f"carry target must be within 5..1800 s, got {seconds}")
        with self._lock:
            self.carry_target_s = seconds
            self._publish_state()

    # -- farmer's walk on toes: timed, not counted ------------------------------------------
    def start_carry(self) -> bool:
        with self._lock:
            if self._carry is not None:
                return False
            self._carry = {"start_s": self._now(), "steps_at_start": 0}
            self._publish({"type": "carry_start", "start_s": self._carry["start_s"]})
            self._publish_state()
            return True

    def stop_carry(self) -> dict[str, Any] | None:
        with self._lock:
            done = self._stop_carry_locked()
            self._publish_state()
            return done

    def _stop_carry_locked(self) -> dict[str, Any] | None:
        if self._carry is None:
            return None
        start = self._carry["start_s"]
        duration = max(0.0, self._now() - start)
        # Steps on toes show up as tilt swings the rep detector rejects; count those swings.
        steps = sum(1 for (t, v) in self._plot if t >= start and v > 8.0) // 2
        done = {"start_s": round(start, 2), "duration_s": round(duration, 2), "steps": steps,
                "target_s": self.carry_target_s, "target_met": duration >= self.carry_target_s}
        self._carries.append(done)
        self.store.add_carry(self.session_id, start, duration, steps, self.carry_target_s)
        self._carry = None
        self._publish({"type": "carry_end", **done})
        return done

    def _now(self) -> float:
        return self.counter.t_s or 0.0

    # -- watching ---------------------------------------------------------------------------
    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        with self._lock:
            self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def add_listener(self, cb: Callable[[dict[str, Any]], None]) -> None:
        with self._lock:
            self._listeners.append(cb)

    def _publish(self, ev: dict[str, Any]) -> None:
        for cb in self._listeners:
            try:
                cb(ev)
            except Exception:  # a broken buzzer must not stop the counting
                pass
        for sub in self._subs:
            sub.put(ev)

    def _publish_state(self) -> None:
        self._publish({"type": "state", "state": self._snapshot_locked()})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> dict[str, Any]:
        d = self.counter.snapshot()
        d.update({
            "session_id": self.session_id,
            "exercise": self.exercise,
            "sensor": dict(self.sensor),
            "rest_s": self.config.rest_s,
            "too_fast_s": self.config.too_fast_s,
            "plot": list(self._plot),
            "carry": None if self._carry is None else {
                "start_s": round(self._carry["start_s"], 2),
                "elapsed_s": round(self._now() - self._carry["start_s"], 2)},
            "carries": list(self._carries),
            "carry_target_s": self.carry_target_s,
        })
        return d

    def close(self) -> None:
        """End of the program (systemd stop, Ctrl-C): close the set and the session."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        for ev in self.counter.finish():
            self._record(ev)
        self._stop_carry_locked()
        self.store.end_session(self.session_id)
