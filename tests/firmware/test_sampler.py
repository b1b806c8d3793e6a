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
    # The samples delivered are the recording's, in order, with only the marked gaps left
    # out: each maps to the trace sample its timestamp names (within the +-2 samples a gap's
    # length is estimated to), and consecutive ones are consecutive in the trace unless a
    # gap lies between them.
    trace = list(read_trace(traces_dir / TRACE))

    def where(s: Sample, guess: int) -> int:
        near = [j for j in range(max(0, guess - 3), min(len(trace), guess + 4))
                if s[1:7] == pytest.approx(trace[j][1:7], abs=0.04)]
        assert near, f"sample at {s.t_s:.2f} s is not in the recording near index {guess}"
        return min(near, key=lambda j: abs(j - guess))

    offset = next(j for j in range(40) if samples[0][1:7] == pytest.approx(trace[j][1:7], abs=0.04))
    prev = offset
    for a, b in zip(samples, samples[1:]):
        j = where(b, prev + round((b.t_s - a.t_s) * 100))
        gap_between = any(a.t_s < g.t_s + 1e-9 and g.t_s <= b.t_s + 1e-9 for g in gaps)
        assert j == prev + 1 or gap_between, f"sample {b.t_s:.2f} s skips the recording without a gap"
        prev = j


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


def _run_lsm6(traces_dir: Path, who: int, hooks=(), jitter: float = 0.2):
    from firmware.fakebus import FakeLsm6dsox
    from firmware.imu import Lsm6dsox

    trace = [s for s in read_trace(traces_dir / "trace_019.csv") if s.t_s < 20.0]
    chip = FakeLsm6dsox(who_am_i=who)
    bus = FakeBus({0x6A: chip})
    ft = FakeTime(chip, ((s[1:4], s[4:7]) for s in trace), rate_hz=104.0, jitter=jitter)
    for when, make in hooks:
        ft.hooks.append((when, make(bus, chip)))
    imu = Lsm6dsox(bus, rate_hz=100, accel_range_g=8, gyro_range_dps=1000, sleep=ft.sleep)
    assert imu.rate_hz == 104
    sampler = Sampler(imu, clock=ft.clock, sleep=ft.sleep)
    ft.on_exhausted = sampler.stop
    items = list(sampler)
    return trace, items, imu, bus


@pytest.mark.parametrize("who, fifo", [(0x6C, True), (0x69, False)])
def test_lsm6_sampling_fifo_and_data_ready(traces_dir: Path, who: int, fifo: bool) -> None:
    trace, items, imu, bus = _run_lsm6(traces_dir, who)
    assert imu.has_fifo is fifo
    samples = [i for i in items if isinstance(i, Sample)]
    assert not [i for i in items if isinstance(i, Gap)]
    assert len(samples) >= len(trace) - 30
    assert all(s.t_s == pytest.approx(k / 104.0, abs=1e-9) for k, s in enumerate(samples))
    offset = next(i for i, ref in enumerate(trace) if all(abs(a - b) < 0.0005 for a, b in zip(samples[0][1:4], ref[1:4])))
    for k, s in enumerate(samples[: len(trace) - offset]):
        assert s[1:4] == pytest.approx(trace[k + offset][1:4], abs=0.0005)
        assert s[4:7] == pytest.approx(trace[k + offset][4:7], abs=0.04)
    if fifo:  # the FIFO is read a batch at a time: far fewer transfers than samples
        assert bus.transfers < len(samples) / 2
    else:
        assert bus.transfers > len(samples)


def test_lsm6dsox_fifo_overrun_is_a_gap_of_the_right_size(traces_dir: Path) -> None:
    from firmware.fakebus import FakeLsm6dsox
    from firmware.imu import Lsm6dsox

    trace = [s for s in read_trace(traces_dir / "trace_019.csv") if s.t_s < 20.0]
    chip = FakeLsm6dsox()
    bus = FakeBus({0x6A: chip})
    ft = FakeTime(chip, ((s[1:4], s[4:7]) for s in trace), rate_hz=104.0)
    imu = Lsm6dsox(bus, rate_hz=100, accel_range_g=8, gyro_range_dps=1000, sleep=ft.sleep)
    sampler = Sampler(imu, clock=ft.clock, sleep=ft.sleep)
    ft.on_exhausted = sampler.stop

    def stall() -> None:  # the program was not scheduled for 3 s: the 2.5 s FIFO overruns
        ft.now_s += 3.0
    ft.hooks.append((6.0, stall))
    items = list(sampler)
    gaps = [i for i in items if isinstance(i, Gap)]
    assert [g.reason for g in gaps] == ["overflow"]
    assert gaps[0].duration_s == pytest.approx(3.0, abs=0.25)
    samples = [i for i in items if isinstance(i, Sample)]
    assert all(b.t_s > a.t_s for a, b in zip(samples, samples[1:]))
    # The sensor clock ran on through the stall: the timeline spans the whole recording.
    assert samples[-1].t_s == pytest.approx(len(trace) / 104.0, abs=0.3)


def test_an_unplugged_sensor_is_reported_lost_and_the_loop_keeps_going() -> None:
    chip = FakeMpu6050()
    bus = FakeBus({0x68: chip})
    ft = FakeTime(chip, (((0.0, 0.0, 1.0), (0.0, 0.0, 0.0)) for _ in range(1000)), rate_hz=100.0)
    imu = Mpu6050(bus, rate_hz=100, sleep=ft.sleep)
    sampler = Sampler(imu, clock=ft.clock, sleep=ft.sleep)
    ft.on_exhausted = sampler.stop
    bus.disconnected = True  # the cable came out before the program started reading
    items = list(sampler)  # ends when the 10 s of fake time are over
    health = [i for i in items if isinstance(i, Health)]
    assert [h.status for h in health] == ["reconnecting", "lost"]
    assert "does not answer" in health[-1].detail
    assert not [i for i in items if isinstance(i, Sample)]
    assert sampler.heartbeat > 10  # retrying all along: the watchdog sees a live loop
