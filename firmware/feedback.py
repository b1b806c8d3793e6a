"""Hands-free feedback with gpiozero: a button, an LED and a buzzer.

Default wiring (BCM numbers; physical pins in hardware.md): button GPIO17 to GND (internal
pull-up), LED GPIO27 through 330 ohm to GND, active buzzer GPIO22 to GND. Devices are passed
in, so tests use gpiozero's ``MockFactory`` and the Pi uses its default pin factory.

Button: a short press starts or ends a set; a long press (2 s) starts a new session.
Buzzer: a short beep per rep, two short beeps for a flagged rep, a longer tune when the set
reaches its target. LED: slow blink ready, steady on in a set, slow double-time blink resting,
fast blink on a sensor fault.

Nothing here blocks the sampling loop: events are queued to one worker thread that plays
the buzzer patterns; the LED blinks in gpiozero's own background thread.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Protocol

BEEP_REP = ((0.08, 0.0),)
BEEP_FLAGGED = ((0.06, 0.08), (0.06, 0.0))
BEEP_TARGET = ((0.25, 0.1), (0.25, 0.1), (0.6, 0.0))
LONG_PRESS_S = 2.0
LIVE_DEFAULT_TARGET_REPS = 15


class Output(Protocol):
    def on(self) -> None: ...
    def off(self) -> None: ...
    def blink(self, on_time: float = ..., off_time: float = ..., n: int | None = ..., background: bool = ...) -> None: ...


class Feedback:
    """Wires a ``web.live.LiveSession`` to a button, an LED and a buzzer."""

    def __init__(self, live: Any, button: Any = None, led: Output | None = None, buzzer: Output | None = None):
        self.live, self.button, self.led, self.buzzer = live, button, led, buzzer
        self._q: queue.Queue[tuple[tuple[float, float], ...] | None] = queue.Queue(maxsize=32)
        self._held = False
        self._closed = False
        self.led_mode = ""
        self._mode_ok = "ready"  # what the LED shows while the sensor is fine
        self._fault = False
        self.long_pressed = threading.Event()
        self.short_pressed = threading.Event()
        if button is not None:
            button.when_pressed = self._pressed
            button.when_held = self._on_held
            button.when_released = self._released
        self._worker = threading.Thread(target=self._play, name="calfcount-buzzer", daemon=True)
        self._worker.start()
        live.add_listener(self.on_event)
        self._set_led("ready")

    # -- button (runs in gpiozero's thread: short, hands over to the live session) ----------
    def _pressed(self) -> None:
        self._held = False

    def _on_held(self) -> None:
        self._held = True
        self.live.new_session()
        self.long_pressed.set()

    def _released(self) -> None:
        if not self._held:
            self.live.toggle_set()
            self.short_pressed.set()

    # -- events from the counter --------------------------------------------------------------
    def on_event(self, ev: dict[str, Any]) -> None:
        if self._closed:
            return
        # Called while the live session publishes (possibly under its lock): use only the
        # event and our own state here, never the session's methods.
        kind = ev.get("type")
        if kind == "rep":
            config = getattr(self.live, "config", None)
            target = getattr(config, "target_reps", LIVE_DEFAULT_TARGET_REPS)
            if ev.get("rep") == target:
                self._queue(BEEP_TARGET)
            elif ev.get("flags"):
                self._queue(BEEP_FLAGGED)
            else:
                self._queue(BEEP_REP)
            self._mode_ok = "in_set"
        elif kind == "set_start":
            self._mode_ok = "in_set"
        elif kind == "set_end":
            self._mode_ok = "resting" if ev.get("reason") != "discarded" else "ready"
        elif kind == "session":
            self._mode_ok = "ready"
        elif kind == "sensor":
            self._fault = ev.get("status") in ("reconnecting", "lost")
        else:
            return
        self._set_led("fault" if self._fault else self._mode_ok)

    def _queue(self, pattern: tuple[tuple[float, float], ...]) -> None:
        try:
            self._q.put_nowait(pattern)
        except queue.Full:  # reps faster than the beeps: skip a beep, never block
            pass

    def _play(self) -> None:
        while True:
            pattern = self._q.get()
            try:
                if pattern is None:
                    return
                if self.buzzer is not None:
                    for on_s, off_s in pattern:
                        self.buzzer.blink(on_time=on_s, off_time=max(off_s, 0.001), n=1, background=False)
            except Exception:  # a buzzer fault must not end the feedback thread
                pass
            finally:
                self._q.task_done()

    def drain(self) -> None:
        """Wait until every queued pattern has been played (tests, shutdown)."""
        self._q.join()

    def _set_led(self, mode: str) -> None:
        if mode == self.led_mode or self.led is None:
            self.led_mode = mode
            return
        self.led_mode = mode
        if mode == "in_set":
            self.led.on()
        elif mode == "ready":
            self.led.blink(on_time=0.1, off_time=1.9, background=True)
        elif mode == "resting":
            self.led.blink(on_time=0.5, off_time=0.5, background=True)
        elif mode == "fault":
            self.led.blink(on_time=0.1, off_time=0.1, background=True)

    def close(self) -> None:
        self._closed = True
        self._q.put(None)
        self._worker.join(timeout=2)
        for dev in (self.led, self.buzzer, self.button):
            if dev is None:
                continue
            if hasattr(dev, "off"):
                dev.off()  # stops a background blink before the pin goes away
            if hasattr(dev, "close"):
                dev.close()


def make_devices(button_pin: int | None, led_pin: int | None, buzzer_pin: int | None, pin_factory: Any = None) -> tuple[Any, Any, Any]:
    """gpiozero devices on BCM pins (None leaves one out). Imports gpiozero only here."""
    from gpiozero import LED, Button, Buzzer

    button = Button(button_pin, pull_up=True, bounce_time=0.03, hold_time=LONG_PRESS_S,
                    pin_factory=pin_factory) if button_pin is not None else None
    led = LED(led_pin, pin_factory=pin_factory) if led_pin is not None else None
    buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory) if buzzer_pin is not None else None
    return button, led, buzzer
