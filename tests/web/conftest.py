"""Fixtures for the page and API: a live session, the app around it, a test client, a
scripted counter for deterministic reps, and the app served by waitress for a real browser."""
from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from counter import CalfCounter, CounterConfig, Sample
from counter.events import Event
from counter.trace import read_trace
from web import create_app, make_server, stop_server
from web.live import LiveSession
from web.store import HistoryStore

TRACE = "trace_024.csv"  # standing, 2 sets of 15, bouncing and fast reps
SCRIPT_RATE_HZ = 50.0


@pytest.fixture
def live() -> Iterator[LiveSession]:
    session = LiveSession(store=HistoryStore(":memory:"))
    yield session
    session.close()


@pytest.fixture
def app(live: LiveSession) -> Flask:
    return create_app(live, TESTING=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def csrf(app: Flask) -> dict[str, str]:
    return {"X-CSRF-Token": app.config["CSRF_TOKEN"]}


@pytest.fixture
def replayed(live: LiveSession, traces_dir: Path) -> LiveSession:
    live.feed_many(read_trace(traces_dir / TRACE))
    return live


class _Signal:
    """Stands in for the detector: only its ``signal`` (the plot) is read from outside."""

    signal = 0.0
    phase = "idle"

    def gap(self, t_s: float, duration_s: float) -> None:
        pass

    def flush(self) -> list:
        return []  # the script's reps are counted when they are played


class ScriptedCounter(CalfCounter):
    """The real set tracking (numbering, rest, undo, targets, snapshot), with reps that come
    from the test instead of the detector: deterministic whatever the detector counts."""

    def __init__(self, config: CounterConfig | None = None):
        super().__init__(config)
        self.detector = _Signal()  # type: ignore[assignment]
        self.pending: list[tuple[str, ...]] = []

    def update(self, s: Sample) -> tuple[Event, ...]:
        self.t_s = s[0]
        self.detector.signal = 2.0 + 2.0 * math.sin(s[0] * 2.0)
        if self.pending:
            flags = self.pending.pop(0)
            t = s[0]
            fast = "too_fast" in flags
            lift, lower = (0.4, 0.4) if fast else (1.2, 1.6)
            return (self.sets.add_rep(t - lift - lower - 0.3, t - lower - 0.15, t, t, lift, 0.3, lower, 4.0, flags),)
        if self.sets.last_activity_s is not None:
            end = self.sets.check_rest(s[0])
            if end is not None:
                return (end,)
        return ()


class Script:
    """Drives a LiveSession with a ScriptedCounter: still samples at 50 Hz, reps on demand."""

    def __init__(self, live: LiveSession):
        self.live = live
        self.t_s = 0.0
        with live._lock:  # the double replaces the real counter before anything is fed
            self.counter = ScriptedCounter(live.config)
            live.counter = self.counter

    def samples(self, duration_s: float) -> None:
        for _ in range(round(duration_s * SCRIPT_RATE_HZ)):
            self.t_s += 1.0 / SCRIPT_RATE_HZ
            self.live.feed(Sample(self.t_s, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0))

    def rep(self, *flags: str) -> dict[str, Any]:
        """Count one rep now (on the next sample); returns its event dict."""
        got: list[dict[str, Any]] = []
        self.counter.pending.append(tuple(flags))
        self.t_s += 1.0 / SCRIPT_RATE_HZ
        for ev in self.live.feed(Sample(self.t_s, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)):
            got.append(ev.to_dict())
        assert got and got[0]["type"] == "rep"
        return got[0]

    def reps(self, n: int, every_s: float = 2.5, flags: Callable[[int], tuple[str, ...]] = lambda i: ()) -> None:
        for i in range(n):
            self.samples(every_s)
            self.rep(*flags(i))


@pytest.fixture
def script(live: LiveSession) -> Script:
    return Script(live)


@pytest.fixture
def make_script() -> type[Script]:
    """For a test that builds its own LiveSession (e.g. on a database file)."""
    return Script


@pytest.fixture
def served(app: Flask, live: LiveSession) -> Iterator[str]:
    """``app`` (around ``live``) served by waitress on 127.0.0.1, a free port, in a thread."""
    server = make_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True, name="test-waitress")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        live.close()  # ends the event streams, so waitress's threads finish
        stop_server(server, loop_thread=thread)
        assert not thread.is_alive(), "waitress did not stop"
