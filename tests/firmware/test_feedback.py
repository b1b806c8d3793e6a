"""Button, LED and buzzer on gpiozero's MockFactory."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from counter.trace import read_trace
from firmware.feedback import Feedback, make_devices
from web.live import LiveSession

BUTTON, LED_PIN, BUZZER = 17, 27, 22


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.reset()
    Device.pin_factory = None


@pytest.fixture
def rig(factory: MockFactory) -> Iterator[tuple[LiveSession, Feedback]]:
    live = LiveSession()
    button, led, buzzer = make_devices(BUTTON, LED_PIN, BUZZER, pin_factory=factory)
    button.hold_time = 0.05  # a long press, quickly
    fb = Feedback(live, button, led, buzzer)
    yield live, fb
    fb.close()
    live.close()


def _press(factory: MockFactory) -> None:
    pin = factory.pin(BUTTON)
    pin.drive_low()
    pin.drive_high()


def test_short_press_starts_and_ends_a_set(factory: MockFactory, rig: tuple[LiveSession, Feedback]) -> None:
    live, fb = rig
    _press(factory)
    assert live.snapshot()["in_set"] is True
    assert fb.led_mode == "in_set" and factory.pin(LED_PIN).state  # steady on
    _press(factory)
    assert live.snapshot()["in_set"] is False


def test_long_press_starts_a_new_session(factory: MockFactory, rig: tuple[LiveSession, Feedback]) -> None:
    live, fb = rig
    first = live.session_id
    pin = factory.pin(BUTTON)
    pin.drive_low()
    assert fb.long_pressed.wait(2.0)
    pin.drive_high()
    assert live.session_id != first
    assert live.snapshot()["in_set"] is False  # the release after a hold is not a short press


def test_beep_per_rep_and_a_distinct_pattern_for_flags(factory: MockFactory, rig: tuple[LiveSession, Feedback],
                                                       traces_dir: Path) -> None:
    live, fb = rig
    buzzer = factory.pin(BUZZER)
    samples = list(read_trace(traces_dir / "trace_024.csv"))
    reps: list[dict] = []
    live.add_listener(lambda ev: reps.append(ev) if ev["type"] == "rep" else None)
    for s in samples:
        live.feed(s)
        if len(reps) == 1:
            break
    fb.drain()
    first = reps[0]
    beeps = len(first["flags"]) and 2 or 1
    expected = [False] + [True, False] * beeps
    buzzer.assert_states(expected)
    buzzer.clear_states()
    for s in samples[len(samples) // 4:]:
        live.feed(s)
        if len(reps) == 4:
            break
    fb.drain()
    ons = sum(1 for st in buzzer.states if st.state)
    assert ons == sum(2 if r["flags"] else 1 for r in reps[1:])


def test_tune_at_the_target_and_led_patterns(factory: MockFactory, rig: tuple[LiveSession, Feedback]) -> None:
    live, fb = rig
    fb.on_event({"type": "rep", "set": 1, "rep": 15, "flags": []})
    fb.drain()
    factory.pin(BUZZER).assert_states([False, True, False, True, False, True, False])
    fb.on_event({"type": "sensor", "status": "reconnecting"})
    assert fb.led_mode == "fault"
    fb.on_event({"type": "rep", "set": 1, "rep": 16, "flags": []})
    assert fb.led_mode == "fault"  # a fault outranks the set under way
    fb.on_event({"type": "sensor", "status": "ok"})
    assert fb.led_mode == "in_set"  # back to what the counter says: a set under way
    fb.on_event({"type": "set_end", "reason": "rest"})
    assert fb.led_mode == "resting"
    fb.on_event({"type": "set_end", "reason": "discarded"})
    assert fb.led_mode == "ready"
    fb.on_event({"type": "session"})
    assert fb.led_mode == "ready"


def test_a_broken_buzzer_does_not_stop_counting(rig: tuple[LiveSession, Feedback]) -> None:
    live, fb = rig

    class Broken:
        def blink(self, **kw: object) -> None:
            raise OSError(5, "GPIO write failed")

    fb.buzzer = Broken()  # type: ignore[assignment]
    fb.on_event({"type": "rep", "set": 1, "rep": 1, "flags": []})
    fb.drain()
    fb.on_event({"type": "rep", "set": 1, "rep": 2, "flags": []})
    fb.drain()  # the worker survived the first failure


def test_led_pin_blinks_fast_on_a_fault_slowly_when_resting_and_is_steady_in_a_set(factory: MockFactory) -> None:
    import threading

    from gpiozero.pins.mock import MockPin

    changed = threading.Condition()

    class WatchedPin(MockPin):  # lets the test wait for the blink thread without sleeping
        def _change_state(self, value: bool) -> bool:
            with changed:
                done = super()._change_state(value)
                changed.notify_all()
            return done

    led_pin = factory.pin(LED_PIN, pin_class=WatchedPin)
    live = LiveSession()
    fb = Feedback(live, *make_devices(BUTTON, LED_PIN, BUZZER, pin_factory=factory))
    try:
        def intervals_after(event: dict, changes: int) -> list[float]:
            led_pin.clear_states()
            fb.on_event(event)
            with changed:
                assert changed.wait_for(lambda: len(led_pin.states) > changes, timeout=5.0)
                states = list(led_pin.states)
            return [s.timestamp for s in states[2:changes + 1]]  # whole on and off periods

        fast = intervals_after({"type": "sensor", "status": "lost"}, 6)
        assert all(0.05 <= t <= 0.3 for t in fast), fast  # 0.1 s on / 0.1 s off
        fb.on_event({"type": "sensor", "status": "ok"})
        slow = intervals_after({"type": "set_end", "reason": "rest"}, 4)
        assert all(0.35 <= t <= 0.8 for t in slow), slow  # 0.5 s on / 0.5 s off
        fb.on_event({"type": "set_start"})
        assert led_pin.state is True  # LED.on() stops the blink thread first: steady on
        led_pin.clear_states()
        fb.on_event({"type": "rep", "set": 1, "rep": 1, "flags": []})
        assert led_pin.states == [led_pin.states[0]] and led_pin.state is True  # still on, no blink
    finally:
        fb.close()
        live.close()
