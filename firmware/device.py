"""The device program's pieces: settings (flags and a TOML file) and the sampling loop.

Settings come from ``/etc/calfcount.toml`` (or ``--config``) so the systemd service needs no
flags; a flag given on the command line wins over the file.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import tomllib
from dataclasses import dataclass, fields, replace
from typing import Any, Callable

from counter.config import CounterConfig
from counter.sample import Sample
from counter.trace import TraceWriter, as_recorded

DEFAULT_CONFIG = "/etc/calfcount.toml"
DEFAULT_DB = os.path.join(os.path.expanduser("~"), ".local", "share", "calfcount", "history.sqlite3")


@dataclass(frozen=True)
class DeviceSettings:
    """Everything the device program can be told. Pins are BCM numbers (-1: not fitted)."""

    i2c_bus: int = 1
    address: int | None = None
    rate_hz: float = 100.0
    accel_range_g: int = 4
    gyro_range_dps: int = 500
    button_pin: int = 17
    led_pin: int = 27
    buzzer_pin: int = 22
    gpio: bool = True
    host: str = "0.0.0.0"
    port: int = 8000
    db: str = DEFAULT_DB
    pin: str | None = None
    placement: str = "lower shank"
    target_sets: int = 3
    target_reps: int = 15
    rest_s: float = 20.0
    too_fast_s: float = 1.2

    def counter_config(self) -> CounterConfig:
        return CounterConfig(target_sets=self.target_sets, target_reps=self.target_reps,
                             too_fast_s=self.too_fast_s, rest_s=self.rest_s)


_TYPES: dict[str, tuple[type, ...]] = {
    "i2c_bus": (int,), "address": (int,), "rate_hz": (int, float), "accel_range_g": (int,),
    "gyro_range_dps": (int,), "button_pin": (int,), "led_pin": (int,), "buzzer_pin": (int,),
    "gpio": (bool,), "host": (str,), "port": (int,), "db": (str,), "pin": (str, int),
    "placement": (str,), "target_sets": (int,), "target_reps": (int,), "rest_s": (int, float),
    "too_fast_s": (int, float),
}


class SettingsError(ValueError):
    """A bad setting; the message names the file and the key."""


def load_settings(path: str | None, overrides: dict[str, Any]) -> DeviceSettings:
    """Defaults, then the TOML file (if it exists, or if ``path`` was given), then flags."""
    values: dict[str, Any] = {}
    file = path or DEFAULT_CONFIG
    if path is not None or os.path.exists(file):
        try:
            with open(file, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise SettingsError(f"{file}: no such file") from None
        except tomllib.TOMLDecodeError as e:
            raise SettingsError(f"{file}: not valid TOML: {e}") from None
        section = data.get("calfcount", data)
        if not isinstance(section, dict):
            raise SettingsError(f"{file}: [calfcount] must be a table")
        for key, value in section.items():
            if key not in _TYPES:
                raise SettingsError(f"{file}: unknown key '{key}' (known: {', '.join(sorted(_TYPES))})")
            ok = isinstance(value, _TYPES[key]) and not (isinstance(value, bool) and bool not in _TYPES[key])
            if not ok:
                want = " or ".join(t.__name__ for t in _TYPES[key])
                raise SettingsError(f"{file}: key '{key}' must be {want}, got {value!r}")
            values[key] = str(value) if key == "pin" else value
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = replace(DeviceSettings(), **values)
    _check(settings, file)
    return settings


def _check(s: DeviceSettings, where: str) -> None:
    def bad(key: str, why: str) -> None:
        raise SettingsError(f"{where}: key '{key}' {why}")
    if not 25 <= s.rate_hz <= 400:
        bad("rate_hz", f"must be within 25..400, got {s.rate_hz}")
    if s.accel_range_g not in (2, 4, 8, 16):
        bad("accel_range_g", f"must be 2, 4, 8 or 16, got {s.accel_range_g}")
    if s.gyro_range_dps not in (250, 500, 1000, 2000):
        bad("gyro_range_dps", f"must be 250, 500, 1000 or 2000, got {s.gyro_range_dps}")
    if s.address is not None and s.address not in (0x68, 0x69, 0x6A, 0x6B):
        bad("address", f"must be 0x68, 0x69, 0x6a or 0x6b, got {s.address:#x}")
    for key in ("button_pin", "led_pin", "buzzer_pin"):
        if not -1 <= getattr(s, key) <= 27:
            bad(key, f"must be a BCM GPIO number 0..27 (or -1: not fitted), got {getattr(s, key)}")
    if not 1 <= s.port <= 65535:
        bad("port", f"must be within 1..65535, got {s.port}")
    try:
        s.counter_config()
    except ValueError as e:
        raise SettingsError(f"{where}: {e}") from None


def add_device_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by ``run`` and ``record``; each overrides the config file."""
    p.add_argument("--config", default=None, help=f"settings file (default {DEFAULT_CONFIG} if present)")
    p.add_argument("--i2c-bus", type=int, dest="i2c_bus", help="I2C bus number (default 1: pins 3/5)")
    p.add_argument("--address", type=lambda x: int(x, 0), help="IMU address, e.g. 0x68 (default: detect)")
    p.add_argument("--rate-hz", type=float, dest="rate_hz", help="sample rate, 25..400 (default 100)")
    p.add_argument("--accel-range-g", type=int, dest="accel_range_g", help="2, 4, 8 or 16 (default 4)")
    p.add_argument("--gyro-range-dps", type=int, dest="gyro_range_dps", help="250..2000 (default 500)")
    p.add_argument("--button-pin", type=int, dest="button_pin", help="BCM pin of the button (default 17, -1: none)")
    p.add_argument("--led-pin", type=int, dest="led_pin", help="BCM pin of the LED (default 27, -1: none)")
    p.add_argument("--buzzer-pin", type=int, dest="buzzer_pin", help="BCM pin of the buzzer (default 22, -1: none)")
    p.add_argument("--no-gpio", action="store_false", dest="gpio", default=None, help="no button, LED or buzzer")
    p.add_argument("--host", help="page listens here (default 0.0.0.0)")
    p.add_argument("--port", type=int, help="page port (default 8000)")
    p.add_argument("--db", help=f"history database (default {DEFAULT_DB})")
    p.add_argument("--pin", help="PIN for the page's controls")
    p.add_argument("--target-sets", type=int, dest="target_sets")
    p.add_argument("--target-reps", type=int, dest="target_reps")
    p.add_argument("--rest-s", type=float, dest="rest_s")
    p.add_argument("--too-fast-s", type=float, dest="too_fast_s")


def settings_from_args(args: argparse.Namespace) -> DeviceSettings:
    keys = {f.name for f in fields(DeviceSettings)}
    return load_settings(args.config, {k: v for k, v in vars(args).items() if k in keys})


def pump(source: Any, live: Any, writer: TraceWriter | None = None,
         stop: threading.Event | None = None, on_rep: Callable[[Any], None] | None = None) -> None:
    """The sampling loop: sensor items to the live session (and the recording).

    Samples are counted as they are recorded, so a replay of the file gives the same reps.
    """
    from firmware.sampler import Gap, Health

    for item in source:
        if isinstance(item, Sample):
            s = as_recorded(item)
            if writer is not None:
                writer.write(s)
            for ev in live.feed(s):
                if on_rep is not None and ev.type == "rep":
                    on_rep(ev)
        elif isinstance(item, Gap):
            live.mark_gap(item.t_s, item.duration_s)
            if writer is not None:
                writer.comment(f"gap at {item.t_s:.3f} s: {item.duration_s:.3f} s lost ({item.reason})")
        elif isinstance(item, Health):
            live.set_sensor_health(item.status, item.since_t_s, item.detail)
        if stop is not None and stop.is_set():
            break


def open_imu(settings: DeviceSettings) -> tuple[Any, Any]:
    """The real bus and IMU (Pi only: imports smbus2 here)."""
    from smbus2 import SMBus

    from firmware.imu import detect

    dev = f"/dev/i2c-{settings.i2c_bus}"
    try:
        bus = SMBus(settings.i2c_bus)
    except (FileNotFoundError, PermissionError) as e:
        raise SystemExit(f"calfcount: cannot open {dev} ({e.strerror}): enable I2C "
                         "(sudo raspi-config nonint do_i2c 0) and add the user to group i2c") from None
    imu = detect(bus, dev, settings.address, rate_hz=settings.rate_hz,
                 accel_range_g=settings.accel_range_g, gyro_range_dps=settings.gyro_range_dps)
    return bus, imu


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify, WatchdogSec) we are alive; a no-op outside systemd."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    import socket

    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(message.encode())
    except OSError:
        pass


def fail(msg: str) -> int:
    print(f"calfcount: {msg}", file=sys.stderr)
    return 2
