"""Sensor-clocked sampling from the fake chip, driven by a fake clock; faults mid-set."""
from __future__ import annotations

from pathlib import Path

import pytest

from counter import CalfCounter, RepEvent, Sample
from counter.trace import read_trace
from firmware.fakebus import FakeBus, FakeMpu6050, FakeTime
from firmware.imu import Mpu6050
from firmware.sampler import Gap, Health, Sampler

TRACE = "trace_024.csv"  # 100 Hz, standing, two sets


def _run(traces_dir: Path, jitter: float = 0.3, hooks=(), seconds: float | None = None):
    trace = list(read_trace(traces_dir / TRACE))
    if seconds is not None:
        trace = [s for s in trace if s.t_s < seconds]
    chip = FakeMpu6050()
    bus = FakeBus({0x68: chip}, seed=5)
    ft = FakeTime(chip, ((s[1:4], s[4:7]) for s in trace), rate_hz=100.0, jitter=jitter)
    for when, make in hooks:
        ft.hooks.append((when, make(bus, chip)))
    imu = Mpu6050(bus, rate_hz=100, accel_range_g=8, gyro_range_dps=1000, sleep=ft.sleep)
    sampler = Sampler(imu, clock=ft.clock, sleep=ft.sleep)
    ft.on_exhausted = sampler.stop  # never wait for data that cannot come
    items = []
    for item in sampler:
        items.append(item)
        if ft.exhausted:
            break
    return trace, items, sampler


def test_timestamps_come_from_the_sensor_clock(traces_dir: Path) -> None:
    trace, items, sampler = _run(traces_dir, jitter=0.5, seconds=30.0)
    samples = [i for i in items if isinstance(i, Sample)]
    assert not [i for i in items if isinstance(i, Gap)]
    assert len(samples) >= len(trace) - 40  # set-up time and the last FIFO fill
    # The chip measured (and dropped) a few samples while it was being set up; the recording
    # starts at the first sample in its FIFO.
    offset = next(i for i, ref in enumerate(trace) if all(abs(a - b) < 0.0003 for a, b in zip(samples[0][1:4], ref[1:4])))
    assert offset < 20
    for k, s in enumerate(samples[: len(trace) - offset]):
        assert s.t_s == pytest.approx(k / 100.0, abs=1e-9)
        ref = trace[k + offset]
        assert s[1:4] == pytest.approx(ref[1:4], abs=0.0003)  # +-8 g: 0.24 mg a step
        assert s[4:7] == pytest.approx(ref[4:7], abs=0.02)  # +-1000 dps: 0.03 dps a step


def _count(items) -> list[RepEvent]:
    counter = CalfCounter()
    reps = []
    for it in items:
        if isinstance(it, Sample):
            reps += [e for e in counter.update(it) if isinstance(e, RepEvent)]
        elif isinstance(it, Gap):
            counter.mark_gap(it.t_s, it.duration_s)
    return reps


def test_an_i2c_fault_mid_set_loses_no_rep_outside_the_gap(traces_dir: Path) -> None:
    _, clean_items, _ = _run(traces_dir)
    clean = _count(clean_items)

    def fault(bus: FakeBus, chip: FakeMpu6050):
        def inject() -> None:
            bus.fail_next = 12  # a loose cable for a dozen transfers
        return inject

    _, items, sampler = _run(traces_dir, hooks=[(40.0, fault)])
    gaps = [i for i in items if isinstance(i, Gap)]
    health = [i.status for i in items if isinstance(i, Health)]
    assert gaps and all(g.duration_s < 2.0 for g in gaps)
    assert "reconnecting" in health and health[-1] == "ok"
    assert sampler.faults >= 5  # some of the 12 failures hit the re-initialisation itself
    faulty = _count(items)
    def outside(r: RepEvent) -> bool:
        return all(r.end_s < g.t_s - 0.5 or r.start_s > g.t_s + g.duration_s + 1.0 for g in gaps)
    # Every rep counted without the fault, away from the gap, is counted with it too.
    for r in (r for r in clean if outside(r)):
        assert any(abs(f.end_s - r.end_s) < 0.3 for f in faulty), f"rep ending {r.end_s:.2f} s lost"
    assert len(clean) - 1 <= len(faulty) <= len(clean) + 1
    # Timestamps stay on the sensor's clock after the gap.
    samples = [i for i in items if isinstance(i, Sample)]
    assert all(b.t_s > a.t_s for a, b in zip(samples, samples[1:]))


def test_fifo_overflow_is_reported_as_a_gap_of_the_right_size(traces_dir: Path) -> None:
    def stall(bus: FakeBus, chip: FakeMpu6050):
        def inject() -> None:
            bus.disconnected = True  # 2 s without a read: the 0.85 s FIFO overflows
        return inject

    def back(bus: FakeBus, chip: FakeMpu6050):
        def inject() -> None:
            bus.disconnected = False
        return inject

    _, items, sampler = _run(traces_dir, jitter=0.0, seconds=20.0, hooks=[(5.0, stall), (7.0, back)])
    gaps = [i for i in items if isinstance(i, Gap)]
    assert gaps
    lost_s = sum(g.duration_s for g in gaps)
    assert 1.0 <= lost_s <= 2.6
    samples = [i for i in items if isinstance(i, Sample)]
    assert all(b.t_s > a.t_s for a, b in zip(samples, samples[1:]))
    # The sample clock kept running through the stall: the timeline still spans ~20 s.
    assert samples[-1].t_s == pytest.approx(20.0, abs=0.6)


def test_a_chip_reset_is_reinitialised(traces_dir: Path) -> None:
    def brownout(bus: FakeBus, chip: FakeMpu6050):
        return chip.power_cycle

    _, items, sampler = _run(traces_dir, jitter=0.1, seconds=20.0, hooks=[(8.0, brownout)])
    gaps = [i for i in items if isinstance(i, Gap)]
    assert any(g.reason == "reset" for g in gaps)
    samples = [i for i in items if isinstance(i, Sample)]
    assert samples[-1].t_s > 18.0  # sampling carried on after the re-initialisation


def test_lsm6dsox_data_ready_sampling(traces_dir: Path) -> None:
    from firmware.fakebus import FakeLsm6dsox
    from firmware.imu import Lsm6dsox

    trace = [s for s in read_trace(traces_dir / "trace_019.csv") if s.t_s < 20.0]
    chip = FakeLsm6dsox()
    bus = FakeBus({0x6A: chip})
    ft = FakeTime(chip, ((s[1:4], s[4:7]) for s in trace), rate_hz=104.0, jitter=0.2)
    imu = Lsm6dsox(bus, rate_hz=100, accel_range_g=8, gyro_range_dps=1000, sleep=ft.sleep)
    assert imu.rate_hz == 104
    sampler = Sampler(imu, clock=ft.clock, sleep=ft.sleep)
    ft.on_exhausted = sampler.stop
    samples = []
    for item in sampler:
        if isinstance(item, Sample):
            samples.append(item)
        if ft.exhausted:
            break
    assert len(samples) >= len(trace) - 30
    assert all(s.t_s == pytest.approx(k / 104.0, abs=1e-9) for k, s in enumerate(samples))
    offset = next(i for i, ref in enumerate(trace) if all(abs(a - b) < 0.0005 for a, b in zip(samples[0][1:4], ref[1:4])))
    assert all(s[1:4] == pytest.approx(trace[k + offset][1:4], abs=0.0005) for k, s in enumerate(samples[:500]))
