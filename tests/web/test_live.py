"""LiveSession: events to listeners and subscribers, bounded queues, threads, failures."""
from __future__ import annotations

import itertools
import sqlite3
import threading
from typing import Any

import pytest

from counter import CounterConfig, Sample
from web.live import PLOT_HZ, LiveSession
from web.store import HistoryStore


def test_listeners_see_each_rep_after_it_is_stored(live: LiveSession, script: Any) -> None:
    seen: list[tuple[str, int]] = []

    def on_event(ev: dict[str, Any]) -> None:
        if ev["type"] == "rep":
            stored = live.store.session(live.session_id)["reps"]  # type: ignore[index]
            seen.append((ev["type"], len(stored)))
        elif ev["type"] in ("set_start", "set_end", "session"):
            seen.append((ev["type"], 0))

    live.add_listener(on_event)
    live.start_set()
    script.reps(2)
    live.end_set()
    live.new_session()
    assert seen == [("set_start", 0), ("rep", 1), ("rep", 2), ("set_end", 0), ("session", 0)]


def test_a_failing_listener_does_not_stop_counting(live: LiveSession, script: Any) -> None:
    def broken(ev: dict[str, Any]) -> None:
        raise RuntimeError("buzzer on fire")

    live.add_listener(broken)
    script.reps(3)
    assert live.snapshot()["reps"] == 3


def test_a_slow_subscriber_loses_plot_points_not_reps(live: LiveSession, script: Any) -> None:
    slow = live.subscribe(maxsize=20)
    script.reps(5, every_s=10.0)  # 50 s: 500 plot points at 10 Hz, far more than the queue holds
    assert slow.qsize() == 20 and slow.dropped > 400
    kinds = []
    while (ev := slow.get(timeout_s=0)) is not None:
        kinds.append(ev["type"])
    assert kinds.count("rep") == 5
    assert kinds[-1] == "state"  # the newest state is kept
    slow.close()
    assert live.subscriber_count == 0


def test_plot_points_are_decimated_to_10_hz(live: LiveSession, script: Any) -> None:
    script.samples(40.0)  # 2000 samples at 50 Hz
    plot = live.snapshot()["plot"]
    assert len(plot) == 300  # the last 30 s
    steps = {round(b[0] - a[0], 2) for a, b in itertools.pairwise(plot)}
    assert steps == {round(1 / PLOT_HZ, 2)}


def test_subscription_get_times_out_and_close_wakes_it(live: LiveSession) -> None:
    sub = live.subscribe()
    assert sub.get(timeout_s=0.01) is None
    got: list[object] = []
    waiting = threading.Thread(target=lambda: got.append(sub.get(timeout_s=30)))
    waiting.start()
    sub.close()  # from another thread, as when the program stops
    waiting.join(timeout=5)
    assert not waiting.is_alive() and got == [None]


def test_feed_from_one_thread_commands_from_others(live: LiveSession, script: Any) -> None:
    """The sampling thread feeds while request threads read and send commands."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                snap = live.snapshot()
                assert snap["reps"] >= 0
                live.set_exercise("seated" if snap["reps"] % 2 else "standing")
        except BaseException as e:  # noqa: BLE001 -- reported below, not lost in the thread
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for r in readers:
        r.start()
    try:
        script.reps(30, every_s=0.5)
    finally:
        stop.set()
        for r in readers:
            r.join(timeout=10)
    assert not errors
    snap = live.snapshot()
    assert snap["reps"] + sum(s["reps"] for s in snap["sets"]) == 30


def test_rest_timer_and_rep_marks_in_the_snapshot(live: LiveSession, script: Any) -> None:
    script.reps(3)
    script.rep("bouncing")
    snap = live.snapshot()
    assert snap["rest"] is None and len(snap["rep_marks"]) == 4
    assert [m[1] for m in snap["rep_marks"]] == [False, False, False, True]
    live.undo_last_rep()
    assert [m[1] for m in live.snapshot()["rep_marks"]] == [False, False, False]
    last_end_s = live.snapshot()["last_rep"]["end_s"]
    live.set_rest_target(90)
    script.samples(30.0)  # the counter closes the set 20 s after the last rep
    rest = live.snapshot()["rest"]
    assert rest["since_s"] == pytest.approx(last_end_s, abs=0.01)
    assert rest["elapsed_s"] == pytest.approx(script.t_s - last_end_s, abs=0.05)
    assert rest["target_s"] == 90.0
    with pytest.raises(ValueError):
        live.set_rest_target(5)


def test_sensor_health_is_published_once_per_change(live: LiveSession) -> None:
    sub = live.subscribe()
    live.set_sensor_health("reconnecting", 12.5, "I/O error")
    live.set_sensor_health("reconnecting", 12.5, "I/O error")
    live.set_sensor_health("ok", 14.0)
    events = []
    while (ev := sub.get(timeout_s=0)) is not None:
        events.append(ev)
    sensor = [e for e in events if e["type"] == "sensor"]
    assert [e["status"] for e in sensor] == ["reconnecting", "ok"]
    assert events[-1]["type"] == "state" and events[-1]["state"]["sensor"]["status"] == "ok"
    with pytest.raises(ValueError):
        live.set_sensor_health("on fire")


def test_a_failing_history_does_not_stop_counting(script: Any, live: LiveSession) -> None:
    script.reps(2)
    live.store._db.close()  # as if the SD card went away
    script.reps(2)
    snap = live.snapshot()
    assert snap["reps"] == 4
    assert snap["store_error"] and "history not saved" in snap["store_error"]


def test_target_changes_apply_to_the_set_under_way(live: LiveSession, script: Any) -> None:
    script.reps(4)
    live.set_target(2, 4)
    snap = live.snapshot()
    assert (snap["target_sets"], snap["target_reps"]) == (2, 4)
    assert live.store.session(live.session_id)["target_reps"] == 4  # type: ignore[index]
    with pytest.raises(ValueError):
        live.set_target(0, 4)


def test_carry_is_timed_in_sample_time(live: LiveSession, script: Any) -> None:
    live.set_exercise("farmers_walk")
    script.samples(2.0)
    assert live.start_carry() and not live.start_carry()
    script.samples(45.0)
    done = live.stop_carry()
    assert done is not None and done["duration_s"] == pytest.approx(45.0, abs=0.05)
    assert done["target_met"] is False  # 60 s by default
    assert live.stop_carry() is None
    assert live.store.session(live.session_id)["carries"][0]["duration_s"] == pytest.approx(45.0, abs=0.05)  # type: ignore[index]


def test_an_unknown_exercise_is_refused(live: LiveSession) -> None:
    with pytest.raises(ValueError):
        live.set_exercise("squat")
    with pytest.raises(ValueError):
        LiveSession(CounterConfig(), HistoryStore(":memory:"), exercise="squat")


def test_close_ends_the_set_and_the_session(tmp_path: Any, make_script: Any) -> None:
    db = str(tmp_path / "h.sqlite3")
    live = LiveSession(store=HistoryStore(db))
    make_script(live).reps(5)
    live.close()
    con = sqlite3.connect(db)
    assert con.execute("SELECT number, reps, reason FROM sets").fetchall() == [(1, 5, "end")]
    assert con.execute("SELECT end_reason FROM sessions").fetchall() == [("ended",)]


def test_feed_accepts_plain_samples(live: LiveSession) -> None:
    assert live.feed(Sample(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)) == ()
    assert live.snapshot()["t_s"] == 0.0


def test_snapshots_are_numbered_in_the_order_they_were_taken(live: LiveSession, script: Any) -> None:
    """A button's answer and the event stream each carry a snapshot; the page keeps the newer
    one, so each later snapshot has a higher number, and a restarted counter a new boot."""
    first = live.snapshot()
    live.start_set()
    script.reps(1)
    second = live.snapshot()
    assert second["seq"] > first["seq"] and second["boot"] == first["boot"]
    assert LiveSession().snapshot()["boot"] != first["boot"]
