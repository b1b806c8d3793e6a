"""The live session: one counter, its history and everyone watching it.

``LiveSession`` is what the sampling thread (sensor or replayed trace), the button and the
page share. Every method is thread-safe. Events go out as plain dicts to listeners (called
synchronously, e.g. the buzzer) and to subscribers (a bounded queue each, e.g. a phone's event
stream): a slow phone loses old plot points, it never slows the sampling loop.
"""
from __future__ import annotations

import collections
import logging
import math
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from counter import CalfCounter, CounterConfig, RepEvent, Sample, SetEndEvent
from web.store import HistoryStore

EXERCISES = ("standing", "single_leg", "seated", "donkey", "hack_squat", "leg_press", "farmers_walk")
SENSOR_STATES = ("ok", "reconnecting", "lost", "replay", "none")
PLOT_HZ = 10.0
PLOT_POINTS = 300  # 30 s at 10 Hz
PLOT_WINDOW_S = PLOT_POINTS / PLOT_HZ
REP_MARKS = 60
DEFAULT_CARRY_TARGET_S = 60.0
DEFAULT_REST_TARGET_S = 60.0

log = logging.getLogger(__name__)


class Subscription:
    """One watcher's bounded queue of event dicts (e.g. one phone's event stream).

    When full, the oldest plot point goes first, then the oldest superseded state: a slow
    phone loses plot detail, not reps, and ``put`` never blocks the sampling thread.
    """

    def __init__(self, owner: LiveSession, maxsize: int = 256):
        self._q: collections.deque[dict[str, Any]] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._maxsize = maxsize
        self._owner = owner
        self.dropped = 0
        self.closed = False

    def put(self, ev: dict[str, Any]) -> None:
        with self._cond:
            if len(self._q) >= self._maxsize:
                self._drop_one()
            self._q.append(ev)
            self._cond.notify()

    def _drop_one(self) -> None:
        for kind in ("plot", "state"):
            for i, old in enumerate(self._q):
                if old.get("type") == kind:
                    del self._q[i]
                    self.dropped += 1
                    return
        self._q.popleft()
        self.dropped += 1

    def get(self, timeout_s: float | None = None) -> dict[str, Any] | None:
        """The next event, or None after ``timeout_s`` (or at once when closed)."""
        with self._cond:
            if not self._q and not self.closed:
                self._cond.wait(timeout_s)
            return self._q.popleft() if self._q else None

    def qsize(self) -> int:
        with self._cond:
            return len(self._q)

    def close(self) -> None:
        with self._cond:
            if self.closed:
                return
            self.closed = True
            self._cond.notify_all()
        self._owner._unsubscribe(self)


class LiveSession:
    """Thread-safe owner of a ``CalfCounter``, the history store and the subscribers.

    ``feed`` runs on the sampling (or replay) thread; commands come from the button and the
    page's request threads; all of it is serialised by one re-entrant lock.
    """

    def __init__(self, config: CounterConfig | None = None, store: HistoryStore | None = None,
                 exercise: str = "standing", rest_target_s: float = DEFAULT_REST_TARGET_S):
        if exercise not in EXERCISES:
            raise ValueError(f"unknown exercise {exercise!r} (one of {', '.join(EXERCISES)})")
        _check_rest_target(rest_target_s)
        self.config = config or CounterConfig()
        self.store = store or HistoryStore(":memory:")
        self._lock = threading.RLock()
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self.exercise = exercise
        self.counter = CalfCounter(self.config)
        self.sensor: dict[str, Any] = {"status": "none", "since_s": None, "detail": ""}
        self._plot: collections.deque[tuple[float, float]] = collections.deque(maxlen=PLOT_POINTS)
        self._next_plot_t = float("-inf")
        self._rep_marks: collections.deque[tuple[float, bool]] = collections.deque(maxlen=REP_MARKS)
        self._carry: dict[str, Any] | None = None
        self._carries: list[dict[str, Any]] = []
        self.carry_target_s = DEFAULT_CARRY_TARGET_S
        self.rest_target_s = float(rest_target_s)
        self.store_error: str | None = None
        self.samples = 0
        # Every snapshot is numbered, so a page can tell an old one from a new one: a POST's
        # answer can arrive after the stream has already shown what happened next.
        self._boot = secrets.token_hex(4)
        self._seq = 0
        # A session left open by a crash or power cut is closed; everything it counted is kept.
        for sid in self.store.unfinished_sessions():
            self.store.close_interrupted(sid)
        self.session_id = self.store.new_session(exercise, self.config.target_sets, self.config.target_reps)

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, sample: Sample) -> tuple[Any, ...]:
        """One sample from the sensor or a replay; returns the counter's events.

        Cheap per sample: a plot point every 0.1 s of sample time; a rep or set is written to
        the history (and fsynced) as it is counted, then published.
        """
        with self._lock:
            evs = self.counter.update(sample)
            self.samples += 1
            t_s = sample[0]
            if t_s + 1e-6 >= self._next_plot_t:
                # On a fixed 0.1 s grid: "t + 0.1" would drift late by a sample each time.
                self._next_plot_t = (math.floor(t_s * PLOT_HZ + 1e-6) + 1) / PLOT_HZ
                point = (round(t_s, 2), round(self.counter.detector.signal, 2))
                self._plot.append(point)
                self._publish({"type": "plot", "t_s": point[0], "value": point[1]})
            for ev in evs:
                self._record(ev)
            return evs

    def feed_many(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            self.feed(s)

    def mark_gap(self, t_s: float, duration_s: float) -> None:
        """The sensor lost ``duration_s`` of samples at ``t_s`` (passed on to the counter)."""
        with self._lock:
            self.counter.mark_gap(t_s, duration_s)
            self._publish({"type": "gap", "t_s": t_s, "duration_s": duration_s})

    def set_sensor_health(self, status: str, since_t_s: float | None = None, detail: str = "") -> None:
        """"ok", "reconnecting", "lost", "replay" (or "none": no sensor, e.g. ``calfcount serve``)."""
        if status not in SENSOR_STATES:
            raise ValueError(f"unknown sensor status {status!r} (one of {', '.join(SENSOR_STATES)})")
        with self._lock:
            if status == self.sensor["status"] and detail == self.sensor["detail"]:
                return
            self.sensor = {"status": status, "since_s": since_t_s, "detail": detail}
            self._publish({"type": "sensor", **self.sensor})
            self._publish_state()

    def _record(self, ev: RepEvent | SetEndEvent) -> None:
        d = ev.to_dict()
        if isinstance(ev, RepEvent):
            self._store_write(self.store.add_rep, self.session_id, ev)
            self._rep_marks.append((round(ev.end_s, 2), bool(ev.flags)))
        else:
            self._store_write(self.store.add_set, self.session_id, ev)
        self._publish(d)
        self._publish_state()

    def _store_write(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # A full or failing SD card must not stop the counting: the page shows the error.
        try:
            write(*args, **kwargs)
        except sqlite3.Error as e:
            if self.store_error is None:
                log.error("history not saved: %s", e)
            self.store_error = f"history not saved: {e}"

    # -- commands (button, page) ------------------------------------------------------------
    def start_set(self) -> bool:
        """Open a set now; False if one is already open."""
        with self._lock:
            ok = self.counter.start_set()
            if ok:
                self._publish({"type": "set_start", "set": self.counter.sets.current.number})  # type: ignore[union-attr]
                self._publish_state()
            return ok

    def end_set(self) -> bool:
        """Close the open set ("manual"); False if none was open or it had no reps."""
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
        """Remove the newest rep of the open set (also from the history); False if none."""
        with self._lock:
            ev = self.counter.undo_last_rep()
            if ev is None:
                return False
            self._store_write(self.store.undo_rep, self.session_id, ev.set, ev.rep)
            end_s = round(ev.end_s, 2)
            for mark in reversed(self._rep_marks):
                if mark[0] == end_s:
                    self._rep_marks.remove(mark)
                    break
            self._publish({"type": "undo", "set": ev.set, "rep": ev.rep})
            self._publish_state()
            return True

    def new_session(self) -> int:
        """Close the set and session under way and start afresh (keeps exercise and target)."""
        with self._lock:
            self._close_locked()
            self.counter = CalfCounter(self.config)
            self._plot.clear()
            self._next_plot_t = float("-inf")
            self._rep_marks.clear()
            self._carries = []
            self.session_id = self.store.new_session(self.exercise, self.config.target_sets,
                                                     self.config.target_reps)
            self._publish({"type": "session", "session_id": self.session_id})
            self._publish_state()
            return self.session_id

    def set_exercise(self, name: str) -> None:
        """One of ``EXERCISES``; stored with the session."""
        if name not in EXERCISES:
            raise ValueError(f"unknown exercise {name!r} (one of {', '.join(EXERCISES)})")
        with self._lock:
            self.exercise = name
            self._store_write(self.store.update_session, self.session_id, exercise=name)
            self._publish_state()

    def set_target(self, sets: int, reps: int) -> None:
        """Target sets x reps (3 x 15 by default); applies to the set under way too."""
        with self._lock:
            cfg = replace(self.config, target_sets=sets, target_reps=reps)  # validates
            self.config = cfg
            self.counter.config = cfg
            self.counter.sets.config = cfg
            self._store_write(self.store.update_session, self.session_id, target_sets=sets, target_reps=reps)
            self._publish_state()

    def set_rest_target(self, seconds: float) -> None:
        """The rest the page counts down towards between sets (the counter's own ``rest_s``,
        after which it closes a set by itself, is not changed)."""
        _check_rest_target(seconds)
        with self._lock:
            self.rest_target_s = float(seconds)
            self._publish_state()

    def set_carry_target(self, seconds: float) -> None:
        """Time on toes to aim for in a farmer's walk."""
        if not 5.0 <= seconds <= 1800.0:
            raise ValueError(f"carry target must be within 5..1800 s, got {seconds}")
        with self._lock:
            self.carry_target_s = seconds
            self._publish_state()

    # -- farmer's walk on toes: timed, not counted ------------------------------------------
    def start_carry(self) -> bool:
        """Start timing a farmer's walk on toes; False if one is under way."""
        with self._lock:
            if self._carry is not None:
                return False
            self._carry = {"start_s": self._now()}
            self._publish({"type": "carry_start", "start_s": self._carry["start_s"]})
            self._publish_state()
            return True

    def stop_carry(self) -> dict[str, Any] | None:
        """Stop timing; returns the carry (duration, steps, target) or None if none ran."""
        with self._lock:
            done = self._stop_carry_locked()
            self._publish_state()
            return done

    def _stop_carry_locked(self) -> dict[str, Any] | None:
        if self._carry is None:
            return None
        start_s = self._carry["start_s"]
        duration_s = max(0.0, self._now() - start_s)
        # Steps on toes show up as tilt swings the rep detector rejects; count those swings.
        steps = sum(1 for (t, v) in self._plot if t >= start_s and v > 8.0) // 2
        done = {"start_s": round(start_s, 2), "duration_s": round(duration_s, 2), "steps": steps,
                "target_s": self.carry_target_s, "target_met": duration_s >= self.carry_target_s}
        self._carries.append(done)
        self._store_write(self.store.add_carry, self.session_id, start_s, duration_s, steps, self.carry_target_s)
        self._carry = None
        self._publish({"type": "carry_end", **done})
        return done

    def _now(self) -> float:
        return self.counter.t_s or 0.0

    # -- watching ---------------------------------------------------------------------------
    def subscribe(self, maxsize: int = 256) -> Subscription:
        """A bounded queue of every event from now on; ``close()`` it when done."""
        sub = Subscription(self, maxsize)
        with self._lock:
            self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)

    def add_listener(self, cb: Callable[[dict[str, Any]], None]) -> None:
        """``cb(event_dict)`` on the thread that caused the event; it must not block."""
        with self._lock:
            self._listeners.append(cb)

    def _publish(self, ev: dict[str, Any]) -> None:
        for cb in self._listeners:
            try:
                cb(ev)
            except Exception:  # a broken buzzer must not stop the counting
                log.exception("listener failed on %s", ev.get("type"))
        for sub in self._subs:
            sub.put(ev)

    def _publish_state(self) -> None:
        # Watchers keep their own plot from the plot events: no need to resend 30 s of it.
        self._publish({"type": "state", "state": self._snapshot_locked(with_plot=False)})

    def snapshot(self) -> dict[str, Any]:
        """The counter's snapshot plus what the page shows around it (plain JSON-able data)."""
        with self._lock:
            return self._snapshot_locked(with_plot=True)

    def _snapshot_locked(self, with_plot: bool) -> dict[str, Any]:
        d = self.counter.snapshot()
        self._seq += 1
        now_s = self._now()
        since_s = d.get("resting_since_s")
        resting = since_s is not None and not d.get("in_set")
        d.update({
            "session_id": self.session_id,
            "exercise": self.exercise,
            "sensor": dict(self.sensor),
            "rest_s": self.config.rest_s,
            "too_fast_s": self.config.too_fast_s,
            "rest": None if not resting else {
                "since_s": since_s, "elapsed_s": round(max(0.0, now_s - since_s), 2),
                "target_s": self.rest_target_s},
            "rest_target_s": self.rest_target_s,
            "rep_marks": [[t, f] for (t, f) in self._rep_marks if t >= now_s - PLOT_WINDOW_S],
            "carry": None if self._carry is None else {
                "start_s": round(self._carry["start_s"], 2),
                "elapsed_s": round(now_s - self._carry["start_s"], 2)},
            "carries": list(self._carries),
            "carry_target_s": self.carry_target_s,
            "store_error": self.store_error,
            "seq": self._seq,
            "boot": self._boot,
        })
        if with_plot:
            d["plot"] = list(self._plot)
        return d

    def close(self) -> None:
        """End of the program (systemd stop, Ctrl-C): close the set and the session, and
        wake every event stream so it ends."""
        with self._lock:
            self._close_locked()
            subs = list(self._subs)
        for sub in subs:
            sub.close()

    def _close_locked(self) -> None:
        for ev in self.counter.finish():
            self._record(ev)
        self._stop_carry_locked()
        self._store_write(self.store.end_session, self.session_id)


def _check_rest_target(seconds: float) -> None:
    if not 10.0 <= seconds <= 600.0:
        raise ValueError(f"rest target must be within 10..600 s, got {seconds}")
