"""Device settings (flags and TOML) and record-then-replay through the fake chip."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from counter.pipeline import count_trace
from counter.trace import read_trace
from firmware.device import DeviceSettings, SettingsError, load_settings
from firmware.fakebus import FakeBus, FakeMpu6050, FakeTime
from firmware.imu import Mpu6050
from firmware.record_cmd import record
from firmware.sampler import Sampler
from web.live import LiveSession


def test_settings_file_then_flags(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[calfcount]\nrate_hz = 200\nport = 9000\npin = 4711\nbutton_pin = -1\n')
    s = load_settings(str(f), {"port": 8080, "rest_s": None})
    assert (s.rate_hz, s.port, s.pin, s.button_pin, s.rest_s) == (200, 8080, "4711", -1, DeviceSettings.rest_s)


@pytest.mark.parametrize("text, needle", [
    ("[calfcount]\nrate = 100\n", "unknown key 'rate'"),
    ("[calfcount]\nrate_hz = 'fast'\n", "key 'rate_hz' must be int or float"),
    ("[calfcount]\nrate_hz = 1000\n", "key 'rate_hz' must be within 25..400"),
    ("[calfcount]\nled_pin = 40\n", "key 'led_pin' must be a BCM GPIO number"),
    ("[calfcount]\ngpio = 1\n", "key 'gpio' must be bool"),
    ("[calfcount]\ntarget_reps = 0\n", "target_reps must be >= 1"),
    ("rate_hz = = 3\n", "not valid TOML"),
])
def test_settings_errors_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(SettingsError) as e:
        load_settings(str(f), {})
    assert str(e.value).startswith(str(f)) and needle in str(e.value)


def test_missing_settings_file_given_explicitly(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such file"):
        load_settings(str(tmp_path / "nope.toml"), {})


def test_record_then_replay_gives_the_same_events(tmp_path: Path, traces_dir: Path) -> None:
    trace = list(read_trace(traces_dir / "trace_019.csv"))
    chip = FakeMpu6050()
    bus = FakeBus({0x68: chip})
    ft = FakeTime(chip, ((s[1:4], s[4:7]) for s in trace), rate_hz=100.0, jitter=0.2)
    imu = Mpu6050(bus, rate_hz=100, accel_range_g=8, gyro_range_dps=1000, sleep=ft.sleep)
    sampler = Sampler(imu, clock=ft.clock, sleep=ft.sleep)
    ft.on_exhausted = sampler.stop

    def until_done():
        for item in sampler:
            yield item
            if ft.exhausted:
                return

    live = LiveSession()
    live_events: list = []
    live.add_listener(lambda ev: live_events.append(ev) if ev["type"] in ("rep", "set_end") else None)
    out = io.StringIO()
    path = tmp_path / "rec.csv"
    n = record(until_done(), str(path), live, imu.rate_hz, {"sensor": imu.chip, "placement": "test"}, out=out)
    live.close()
    assert n > 15000
    replayed = [e.to_dict() for e in count_trace(str(path))]
    assert len([e for e in replayed if e["type"] == "rep"]) >= 20
    assert replayed == live_events
    assert out.getvalue().count("rep ") == len([e for e in replayed if e["type"] == "rep"])
