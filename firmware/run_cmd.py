"""``calfcount run``: the device program. Sensor -> counter -> page, button, LED and buzzer.

systemd starts it (firmware/calfcount.service); SIGTERM closes the set and the history cleanly.
"""
from __future__ import annotations

import argparse
import signal
import threading
import time
from typing import Any

from firmware.device import SettingsError, add_device_arguments, fail, open_imu, pump, sd_notify, settings_from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_device_arguments(p)


def start_feedback(settings: Any, live: Any) -> Any:
    """Button, LED and buzzer if wanted and available; the counter runs without them."""
    if not settings.gpio:
        return None
    try:
        from firmware.feedback import Feedback, make_devices

        pins = [None if p < 0 else p for p in (settings.button_pin, settings.led_pin, settings.buzzer_pin)]
        return Feedback(live, *make_devices(*pins))
    except Exception as e:  # no GPIO here (a laptop) or a pin in use: say so, keep counting
        print(f"calfcount: no button/LED/buzzer ({e}); the page still works", flush=True)
        return None


def serve_in_background(settings: Any, live: Any) -> threading.Thread:
    from web import create_app, page_urls, serve

    app = create_app(live, pin=settings.pin)
    t = threading.Thread(target=serve, args=(app,), kwargs={"host": settings.host, "port": settings.port},
                         name="calfcount-web", daemon=True)
    t.start()
    print("calfcount: page at", " or ".join(page_urls(settings.port)), flush=True)
    return t


def install_stop(stop: threading.Event, sampler: Any) -> None:
    def on_term(signum: int, frame: Any) -> None:
        stop.set()
        sampler.stop()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)


def watchdog(stop: threading.Event, sampler: Any, period_s: float = 10.0) -> None:
    """Pet systemd's watchdog while the sampling loop goes round (retrying a missing sensor
    counts: the page then says "lost"); a hung loop gets restarted by systemd."""
    last = -1
    while not stop.wait(period_s):
        if sampler.heartbeat != last:
            last = sampler.heartbeat
            sd_notify("WATCHDOG=1")


def start_device(args: argparse.Namespace) -> tuple[Any, Any, Any, Any] | int:
    """Settings, bus, IMU and live session; or the exit status after a one-line error."""
    from firmware.imu import ImuError
    from web.live import LiveSession
    from web.store import HistoryStore

    try:
        settings = settings_from_args(args)
        bus, imu = open_imu(settings)
    except (SettingsError, ImuError) as e:
        return fail(str(e))
    return settings, bus, imu, LiveSession(settings.counter_config(), HistoryStore(settings.db))


def main(args: argparse.Namespace) -> int:
    from firmware.sampler import Sampler

    started = start_device(args)
    if isinstance(started, int):
        return started
    settings, bus, imu, live = started
    feedback = start_feedback(settings, live)
    serve_in_background(settings, live)
    sampler = Sampler(imu)
    stop = threading.Event()
    install_stop(stop, sampler)
    threading.Thread(target=watchdog, args=(stop, sampler), daemon=True, name="calfcount-watchdog").start()
    print(f"calfcount: {imu.chip} at 0x{imu.address:02x}, {imu.rate_hz:g} Hz", flush=True)
    sd_notify("READY=1")
    try:
        pump(sampler, live, stop=stop)
    finally:
        sd_notify("STOPPING=1")
        live.close()
        if feedback is not None:
            feedback.close()
        bus.close()
        time.sleep(0)  # let the web thread see the closed session
    return 0
