"""Sensor-clocked sampling with fault recovery.

Timestamps are ``index / rate_hz``: the n-th sample the chip measured, whatever Python's
scheduling did. Lost samples (FIFO overflow, an I2C fault, a chip reset) advance the index by
the time that passed and are reported as a gap, so the counter restarts its motion state
instead of gluing two movements together.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Union

from counter.sample import Sample
from firmware.imu import Imu, Lsm6dsox, Mpu6050

log = logging.getLogger("calfcount.sampler")
AXES = ("ax", "ay", "az", "gx", "gy", "gz")


@dataclass(frozen=True)
class Gap:
    """Samples were lost from ``t_s`` for ``duration_s`` (``reason``: overflow, fault, reset)."""

    t_s: float
    duration_s: float
    reason: str


@dataclass(frozen=True)
class Health:
    """Sensor health: "ok", "reconnecting" (retrying) or "lost" (failing for a while)."""

    status: str
    since_t_s: float
    detail: str = ""


Item = Union[Sample, Gap, Health]


class Sampler:
    """Reads an IMU forever (until ``stop()``), yielding samples, gaps and health changes.

    ``clock`` and ``sleep`` are injectable so tests drive time; on the Pi they are
    ``time.monotonic`` and ``time.sleep``. Poll period: ~40 % of the FIFO's span, so it
    never fills in normal running.
    """

    RETRIES_BEFORE_REINIT = 5
    STUCK_S = 0.3       # an axis repeating one exact value this long is stuck
    SATURATED_S = 0.5   # heel strikes clip for milliseconds; this long is a fault
    LOST_AFTER_S = 3.0
    CHECK_RESET_EVERY_S = 1.0

    def __init__(self, imu: Imu, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.imu, self._clock, self._sleep = imu, clock, sleep
        self.rate_hz = imu.rate_hz
        self.index = 0
        self.samples_lost = 0
        self.faults = 0
        self.heartbeat = 0  # goes up on every pass of the loop, retries included (watchdog)
        self._stopped = False
        self.health = Health("ok", 0.0)
        self._last_raw: tuple[float, ...] = (math.nan,) * 6
        self._same = [0] * 6
        self._sat = [0] * 6
        self._bad_run = 0
        ranges = (getattr(imu, "accel_range_g", 0),) * 3 + (getattr(imu, "gyro_range_dps", 0),) * 3
        self._full_scale = [float(r) for r in ranges]

    def stop(self) -> None:
        self._stopped = True

    @property
    def t_s(self) -> float:
        return self.index / self.rate_hz

    def _poll_period_s(self) -> float:
        if self.imu.has_fifo:
            return min(0.1, 0.4 * self.imu.fifo_capacity / self.rate_hz)
        return 0.25 / self.rate_hz  # data-ready polling: 4 looks a sample

    def __iter__(self) -> Iterator[Item]:
        imu = self.imu
        yield from self._setup()
        last_ok = self._clock()
        next_reset_check = last_ok + self.CHECK_RESET_EVERY_S
        failures = 0
        mid_read = False
        while not self._stopped:
            self.heartbeat += 1
            try:
                now = self._clock()
                if now >= next_reset_check:
                    next_reset_check = now + self.CHECK_RESET_EVERY_S
                    if imu.was_reset():
                        raise _ChipReset()
                if imu.has_fifo:
                    n, overflowed = imu.fifo_status()
                    if overflowed:
                        # The FIFO wrapped: its content is unreliable. Start it afresh and
                        # count what was lost from the time that passed.
                        imu.reset_fifo()
                        yield self._gap(now - last_ok, "overflow")
                        last_ok = now
                        continue
                    mid_read = True  # an error from here on may leave the FIFO misaligned
                    raws = imu.read_fifo(n) if n else []
                    mid_read = False
                else:
                    raws = [imu.read_now()] if imu.data_ready() else []
                    # Data-ready polling cannot see missed samples in the chip; the clock can.
                    missed = int((now - last_ok) * self.rate_hz) - 1 - len(raws)
                    if raws and missed > 2:
                        yield self._gap(missed / self.rate_hz, "late read")
                for raw in raws:
                    bad = self._check_axes(raw)
                    if bad:
                        # A stuck or saturated axis: the reading is not the leg. Drop the
                        # samples (a gap for the counter) until the axis moves again.
                        if self.health.status == "ok":
                            yield self._set_health("reconnecting", bad)
                        self._bad_run += 1
                        self.index += 1
                        self.samples_lost += 1
                        continue
                    if self._bad_run:
                        yield Gap(self.t_s - self._bad_run / self.rate_hz, self._bad_run / self.rate_hz, "bad axis")
                        self._bad_run = 0
                    yield Sample(self.t_s, *raw)
                    self.index += 1
                if raws:
                    last_ok = now
                if (failures or self.health.status != "ok") and not self._bad_run:
                    failures = 0
                    yield self._set_health("ok", "")
                self._sleep(self._poll_period_s())
            except (OSError, _ChipReset) as e:
                failures += 1
                self.faults += 1
                reset = isinstance(e, _ChipReset)
                now = self._clock()
                if now - last_ok > self.LOST_AFTER_S and self.health.status != "lost":
                    yield self._set_health("lost", f"no answer from the IMU: {e}")
                elif self.health.status == "ok":
                    yield self._set_health("reconnecting", "chip reset" if reset else f"I2C error: {e}")
                self._sleep(min(0.1, 0.005 * (2 ** min(failures, 5))))  # the FIFO holds < 1 s: retry soon
                if reset or failures % self.RETRIES_BEFORE_REINIT == 0:
                    # Re-initialise completely before reading again: a half-written setup
                    # (wrong range) would silently scale every reading wrong.
                    yield from self._setup()
                    lost_s = self._clock() - last_ok
                    yield self._gap(lost_s, "reset" if reset else "fault")
                    last_ok = self._clock()
                elif imu.has_fifo and mid_read:
                    mid_read = False
                    try:  # part of a sample may have been read: realign by emptying the FIFO
                        imu.reset_fifo()
                        yield self._gap(self._clock() - last_ok, "fault")
                        last_ok = self._clock()
                    except OSError:
                        pass

    def _check_axes(self, raw: tuple[float, ...]) -> str:
        """Name a stuck axis (the very same value for ``STUCK_S``: real sensors always have
        noise in the last bits) or one pinned at full scale for ``SATURATED_S``."""
        limit_stuck = max(3, int(self.STUCK_S * self.rate_hz))
        limit_sat = max(3, int(self.SATURATED_S * self.rate_hz))
        problem = ""
        for i, v in enumerate(raw):
            if v == self._last_raw[i]:
                self._same[i] += 1
            else:
                self._same[i] = 0
            full = self._full_scale[i]
            self._sat[i] = self._sat[i] + 1 if full and abs(v) >= full * 0.999 else 0
            if self._same[i] >= limit_stuck and not self._sat[i]:
                problem = f"axis {AXES[i]} stuck at {v:g}"
            elif self._sat[i] >= limit_sat:
                problem = f"axis {AXES[i]} saturated"
        self._last_raw = raw
        return problem

    def _setup(self) -> Iterator[Item]:
        tries = 0
        while not self._stopped:
            self.heartbeat += 1
            try:
                self.imu.configure()
                if not self.imu.was_reset():  # read back: every register took
                    return
            except OSError as e:
                tries += 1
                if self.health.status == "ok":
                    yield self._set_health("reconnecting", f"cannot configure the IMU: {e}")
                if tries == 10:
                    yield self._set_health("lost", f"the IMU does not answer: {e}")
            self._sleep(0.05 if tries < 10 else 0.5)

    def _gap(self, duration_s: float, reason: str) -> Gap:
        lost = max(0, round(duration_s * self.rate_hz))
        gap = Gap(self.t_s, lost / self.rate_hz, reason)
        self.index += lost
        self.samples_lost += lost
        log.warning("sensor gap at %.2f s: %d samples (%s)", gap.t_s, lost, reason)
        return gap

    def _set_health(self, status: str, detail: str) -> Health:
        self.health = Health(status, self.t_s, detail)
        return self.health


class _ChipReset(Exception):
    pass


__all__ = ["Sampler", "Gap", "Health", "Item", "Lsm6dsox", "Mpu6050"]
