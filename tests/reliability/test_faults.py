"""A fault drill: a recorded session replayed through the fake chip while the bus and the chip
misbehave. No crash, no counted rep lost away from the faults, no phantom rep from them."""
from __future__ import annotations

from pathlib import Path

from counter.trace import read_trace
from firmware.device import pump
from firmware.fakebus import FakeBus, FakeMpu6050, FakeTime
from firmware.imu import Mpu6050
from firmware.sampler import Gap, Sampler
from web.live import LiveSession

TRACE = "trace_022.csv"  # 50 Hz, standing, 4 sets, 377 s


def _session(traces_dir: Path, faults: list[tuple[float, str]], error_rate: float = 0.0):
    trace = list(read_trace(traces_dir / TRACE))
    chip = FakeMpu6050()
    bus = FakeBus({0x68: chip}, seed=11)
    ft = FakeTime(chip, ((s[1:4], s[4:7]) for s in trace), rate_hz=50.0, jitter=0.3)

    def action(kind: str):
        def run() -> None:
            if kind == "errors_on":
                bus.error_rate = error_rate
            elif kind == "unplug":
                bus.disconnected = True
            elif kind == "plug":
                bus.disconnected = False
            elif kind == "reset":
                chip.power_cycle()
            elif kind == "stuck":
                chip.stuck_axis = 1
            elif kind == "saturate":
                chip.saturated_axis = 4
            elif kind == "clear_axes":
                chip.stuck_axis = chip.saturated_axis = None
        return run

    for when, kind in faults:
        ft.hooks.append((when, action(kind)))
    imu = Mpu6050(bus, rate_hz=50, accel_range_g=8, gyro_range_dps=1000, sleep=ft.sleep)
    sampler = Sampler(imu, clock=ft.clock, sleep=ft.sleep)
    ft.on_exhausted = sampler.stop
    live = LiveSession()
    reps: list[dict] = []
    health: list[str] = []
    gaps: list[Gap] = []
    live.add_listener(lambda ev: reps.append(ev) if ev["type"] == "rep" else
                      health.append(ev["status"]) if ev["type"] == "sensor" else None)

    def items():
        for item in sampler:
            if isinstance(item, Gap):
                gaps.append(item)
            yield item
            if ft.exhausted:
                return

    pump(items(), live)
    live.close()
    return reps, health, gaps, sampler


def test_fault_drill(traces_dir: Path) -> None:
    clean, _, _, _ = _session(traces_dir, [])
    windows = [(60.0, 66.0), (120.0, 121.0), (200.0, 202.0), (300.0, 301.0)]
    faults = [(1.0, "errors_on"), (60.0, "unplug"), (65.0, "plug"), (120.0, "reset"),
              (200.0, "stuck"), (201.0, "clear_axes"), (300.0, "saturate"), (300.6, "clear_axes")]
    reps, health, gaps, sampler = _session(traces_dir, faults, error_rate=0.01)
    assert sampler.faults > 50  # 1 % of transfers failed, besides the rest
    assert {"reconnecting", "lost"} <= set(health) and health[-1] == "ok"
    assert any(g.reason == "reset" for g in gaps) and any(g.reason == "bad axis" for g in gaps)

    def near_fault(r: dict) -> bool:
        # After a long outage the detector re-learns where the bottom is: the rep under way
        # and the next one or two may differ (10 s). Short faults only touch their own rep.
        return any(a - 2.0 <= r["end_s"] and r["start_s"] <= b + (10.0 if b - a > 2 else 2.0) for a, b in windows)

    def same_rep(a: dict, b: dict) -> bool:
        # Timestamps in the faulty run shift by the samples lost during set-up, and a gap in a
        # lowering moves its end estimate: the scorer's rule (ends within 0.8 s, or the two
        # intervals overlap by half the shorter) says whether two reps are one.
        overlap = min(a["end_s"], b["end_s"]) - max(a["start_s"], b["start_s"])
        shorter = min(a["end_s"] - a["start_s"], b["end_s"] - b["start_s"])
        return abs(a["end_s"] - b["end_s"]) <= 0.8 or overlap >= 0.5 * shorter

    lost = [r for r in clean if not near_fault(r) and not any(same_rep(f, r) for f in reps)]
    phantoms = [f for f in reps if not near_fault(f) and not any(same_rep(f, r) for r in clean)]
    print(f"\nfault drill: {len(clean)} reps clean, {len(reps)} with faults; {len(lost)} lost and "
          f"{{}} phantom away from the fault windows; {sampler.faults} I2C faults, "
          f"{sampler.samples_lost} samples lost in {len(gaps)} gaps".format(len(phantoms)))
    # 1 % failed transfers each cost ~0.1 s of samples: one inside a rep now and then changes
    # whether that rep counts.
    assert len(lost) <= 2, f"reps lost away from the faults: {[round(r['end_s'], 1) for r in lost]}"
    assert len(phantoms) <= 2, f"reps that only the faults produced: {[round(r['end_s'], 1) for r in phantoms]}"
