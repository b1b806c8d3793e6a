"""Feed a recorded trace into a ``LiveSession`` at the pace it was recorded (or faster).

The pace is the only use of the wall clock: timestamps always come from the samples.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from counter.trace import read_trace
from web.live import LiveSession


class TraceReplayer(threading.Thread):
    """Replays ``path`` into ``live`` at ``speed`` x real time (0 = as fast as possible).

    ``loop``: start a new session and replay again at the end. ``stop()`` ends it; ``done`` is
    set when it has finished.
    """

    def __init__(self, live: LiveSession, path: str, speed: float = 1.0, loop: bool = False,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] | None = None):
        super().__init__(name="calfcount-replay", daemon=True)
        self.live, self.path, self.speed, self.loop = live, path, speed, loop
        self._clock = clock
        self._stop_evt = threading.Event()
        self._sleep = sleep or (lambda s: self._stop_evt.wait(s))
        self.done = threading.Event()
        self.error: Exception | None = None
        self.passes = 0

    def stop(self) -> None:
        self._stop_evt.set()

    def run(self) -> None:
        try:
            while not self._stop_evt.is_set():
                self._one_pass()
                self.passes += 1
                if not self.loop or self._stop_evt.is_set():
                    break
                self._sleep(3.0 / max(self.speed, 1.0) if self.speed else 0.0)
                self.live.new_session()
            if not self._stop_evt.is_set():
                self.live.end_set()
        except Exception as e:  # reported by the command, not lost in a thread
            self.error = e
        finally:
            self.done.set()

    def _one_pass(self) -> None:
        self.live.set_sensor_health("replay", None, self.path)
        t0_wall = self._clock()
        t0_sample: float | None = None
        for s in read_trace(self.path):
            if self._stop_evt.is_set():
                return
            if t0_sample is None:
                t0_sample = s.t_s
            if self.speed > 0:
                due = t0_wall + (s.t_s - t0_sample) / self.speed
                lag = due - self._clock()
                if lag > 0.005:  # sleep in slices of >= 5 ms, not per sample
                    self._sleep(lag)
            self.live.feed(s)
