"""Causal calf-raise detector, one sample at a time.

How it sees a rep, whatever the strap's orientation:

* **Tilt.** The gyro, less a bias learned while the leg is idle, is integrated into the
  rotation of the strap since a *rest reference* (a 3-vector, degrees). A complementary filter
  pulls it towards the rotation that takes the reference gravity to the current low-passed
  gravity, so bias and drift cannot pile up; the pull pauses during heel impacts and steps,
  when the accelerometer is not measuring gravity. Rotation about gravity (heading) is dropped:
  the accelerometer cannot see it and a calf raise does not make it.
* **Excursion.** Before the first rep, the excursion ``e`` is the length of that tilt vector.
  After it, the detector knows the axis reps turn about and measures ``e`` along it only,
  from where the leg rested just before (the *bottom*): sway across the axis and a bottom
  that drifts between reps stop counting. Just above the ankle a rep is ~1.5-6 deg; on the
  instep ~40-50 deg. The axis is learned anew after a rest (strap adjusted, new exercise).
* **Hysteresis.** A rep starts above a level set by the leg's own idle wobble (sway standing,
  almost none braced on a machine) and by the usual rep size, within fixed bounds; it ends
  below half its peak. Excursions shorter than ``MIN_REP_S`` are shake.
* **Landing.** Once near the bottom the detector waits as long as the rest of a min-jerk
  lowering takes (known from its steepest slope), then reports the rep. A heel impact (a shock
  in the part of the acceleration the low-pass removes) on the way down ends the rep at once
  and marks it ``bouncing`` (0.4-2 g against < 0.1 g for a controlled landing); a rebound
  starts the next rep at the impact.
* **Tempo.** Lift and lower times come from the steepest slope of each phase: a min-jerk move
  of size A and duration T peaks at 1.875 A/T. The slopes are read from a fixed-size ring of
  recent ``e`` values when the rep ends: bounded memory, amortised O(1) per sample.
* **Not reps:** a tilt with no upward acceleration (sway, a shift of weight), a swing faster
  than a heel can rise (a step), a heel strike in mid-movement, anything far bigger than the
  usual rep or longer than ``MAX_REP_S``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from counter.config import CounterConfig
from counter.events import BOUNCING, TOO_FAST
from counter.sample import Sample

DEG_PER_G = 57.29578
# Min-jerk profile: fraction of the movement time spent between 10 % and 90 % of the travel,
# and the fraction before 10 % (equal to the fraction after 90 %).
_MJ_10_90 = 0.5062
_MJ_0_10 = 0.2469


def _mj_remaining(level: float) -> float:
    """Share of a min-jerk lowering still to go once it is down to ``level`` of its height."""
    lo, hi = 0.0, 1.0
    for _ in range(40):
        v = 0.5 * (lo + hi)
        if 1.0 - (10 * v ** 3 - 15 * v ** 4 + 6 * v ** 5) > level:
            lo = v
        else:
            hi = v
    return 1.0 - lo


class DetectedRep(NamedTuple):
    """A rep as the detector sees it; the set tracker numbers it. Times in sample seconds."""

    start_s: float
    top_s: float
    end_s: float
    emitted_at_s: float
    lift_s: float
    hold_s: float
    lower_s: float
    rom_deg: float
    flags: tuple[str, ...]


# Detector constants. Time constants are in seconds so behaviour does not depend on the
# sample rate; levels are degrees of excursion or g. They were checked on two disjoint halves
# of the labelled traces, not fitted to one recording.
TAU_LP_S = 0.06            # two cascaded EMAs: ~2.5 Hz low-pass, keeps rep shape, drops shake
TAU_SHOCK_S = 0.05         # decay of the impact envelope
TAU_BIAS_S = 4.0           # gyro bias learned while idle...
BIAS_MAX_DPS = 5.0         # ...from rates under this (real motion is not bias)
TAU_FUSE_S = 0.7           # accelerometer pull on the gyro-integrated tilt
FUSE_SHOCK_G = 0.08        # no pull when the fast part of the acceleration exceeds this...
FUSE_DEV_G = 0.05          # ...or |a| is this far from 1 g (the leg is accelerating)...
FUSE_HOLDOFF_S = 0.5       # ...nor until the low-pass has forgotten it
TAU_REF_S = 4.0            # rest reference follows slow sway and settling while idle
TAU_IDLE_S = 3.0           # average idle wobble of e
ON_MIN_DEG = 0.6           # a rep starts above the largest of: this...
IDLE_FACTOR = 2.0          # ...this many times the idle wobble...
ON_FRACTION = 0.3          # ...this share of the usual rep...
ON_MAX_DEG = 1.5           # ...but never above this (odd movements must not deafen it)
OFF_FRACTION = 0.5         # a rep ends below this share of its peak
AXIS_MIN_REPS = 1          # reps seen before the detector trusts their rotation axis
AXIS_WEIGHT = 0.2          # how fast the axis follows new reps
AXIS_FORGET_S = 12.0       # idle this long (a rest between sets): relearn the axis
TAU_BASE_S = 0.7           # the bottom follows the idle leg this fast...
BASE_DOWN_GAIN = 4.0       # ...and this many times faster when the leg is lower...
BASE_FREEZE = 0.3          # ...but stops once it rises this share of ON_MIN_DEG
MIN_PHASE_S = 0.12         # fastest plausible lift or lowering
MIN_REP_S = 0.35           # shorter excursions are shake, not reps
MAX_REP_S = 9.0            # longer ones are posture changes
STALL_S = 4.0              # a top held this long without moving is a new posture (holds <= 1.5 s)
STALL_FRACTION = 0.1       # ...where "without moving" is within this share of the peak
MAX_VS_TYPICAL = 3.5       # a swing this many times the usual rep is a step, not a rep
MAX_FIRST_DEG = 70.0       # before the rep size is known, bigger swings are not reps
MIN_LIFT_G = 0.0025        # a heel lift of 3 cm in 3 s still accelerates the leg ~2 mg up
MAX_GAP_S = 0.25           # a longer hole in the timestamps resets the motion state
SHOCK_BOUNCE_G = 0.2       # heel impact of a bouncing rep (controlled landings < 0.1 g)
SHOCK_WALK_G = 0.8         # an impact this hard in the middle of a movement is a step
LANDED_FRACTION = 0.25     # e under this share of the peak: the heel is nearly down
LANDED_MARGIN_S = 0.1      # after the heel should be down, watch this long for an impact...
LANDED_WAIT_MAX_S = 0.4    # ...but never longer than this after "nearly down"
BOUNCE_CONFIRM_S = 0.1     # after an impact, a rebound shows within this
SETTLE_MAX_S = 1.5         # longest wait for the heel to settle after the end crossing
TAU_SLOPE_S = 0.03         # smoothing of the running slope of e
SLOPE_SPAN_S = 0.04        # slope of the stored e measured over this span
RING_S = 10.0              # ring of recent e values, covers the longest rep
_MJ_REMAIN_LANDED = _mj_remaining(LANDED_FRACTION)


class _Coeffs(NamedTuple):
    """Filter gains for one sample interval (1 - exp(-dt/tau), or exp(-dt/tau) for decay)."""

    lp: float
    shock_decay: float
    base: float
    slope: float
    warm: float
    idle: float
    ref: float
    bias: float
    fuse: float


def _coeffs(dt: float) -> _Coeffs:
    def g(tau: float) -> float:
        return 1.0 - math.exp(-dt / tau)
    return _Coeffs(g(TAU_LP_S), math.exp(-dt / TAU_SHOCK_S), g(TAU_BASE_S), g(TAU_SLOPE_S), g(0.1),
                   g(TAU_IDLE_S), g(TAU_REF_S), g(TAU_BIAS_S), dt / TAU_FUSE_S)


class RepDetector:
    """Streaming rep detector. ``update`` takes one sample and returns a rep when one ends.

    ``signal`` is the current excursion in degrees (for the live plot), ``phase`` is
    "idle", "up" (rep in progress) or "settling".
    """

    def __init__(self, config: CounterConfig, max_rate_hz: float = 1000.0):
        self.too_fast_s = config.too_fast_s
        self._ring_n = int(RING_S * max_rate_hz) + 1
        self._ring_t = np.zeros(self._ring_n)
        self._ring_e = np.zeros(self._ring_n)
        self._dt_key = -1.0
        self._k = _coeffs(0.01)
        self._bias_known = False  # the gyro bias survives a gap: it is the chip's, not the leg's
        self._recent_peaks: list[float] = []  # sizes of the last few reps (at most 5)
        self._idle_deg = 0.5  # average excursion while idle (sway, wobble)
        self._axis_sum = [0.0, 0.0, 0.0]  # smoothed direction of rotation at the top of reps
        self._axis = [0.0, 0.0, 0.0]      # its unit vector, sensor frame
        self._axis_n = 0
        self._t_last_rep = -math.inf
        self._typical_deg = 0.0  # their median
        self.reset()

    def reset(self) -> None:
        """Forget the motion state (after a gap or a fault). Learned rep size is kept."""
        self._t_prev: float | None = None
        self._lp1 = [0.0, 0.0, 0.0]
        self._lp2 = [0.0, 0.0, 0.0]
        self._ref = [0.0, 0.0, 0.0]
        self._phi = [0.0, 0.0, 0.0]
        self._phi_peak = [0.0, 0.0, 0.0]
        self._base = 0.0
        self._base_ok = False
        self._t_jolt = -math.inf
        self._de = 0.0         # smoothed d(e)/dt, deg/s
        self._down_rate = 0.0  # steepest descent of the current rep so far, deg/s
        if not self._bias_known:
            self._bias = [0.0, 0.0, 0.0]
        self._warm_s = 0.0
        self._shock = 0.0
        self._state = 0  # 0 idle, 1 moving, 2 ended (waiting to confirm)
        self._ring_i = 0
        self._ring_count = 0
        self._t_below = 0.0   # last time e was under the start level while idle
        self._peak = 0.0
        self._t_start = 0.0
        self._max_shock_mid = 0.0
        self._t_end_cross = 0.0
        self._end_shock = 0.0
        self._t_end_shock = 0.0
        self._t_peak = 0.0
        self._vert_g = 0.0
        self._min_after = 0.0
        self._t_min_after = 0.0
        self._t_landed: float | None = None
        self._stall_e = 0.0
        self._t_stall = 0.0
        self.signal = 0.0
        self.phase = "idle"

    def gap(self, t_s: float, duration_s: float) -> None:
        """Samples were lost: a half-seen movement is dropped, never counted twice."""
        self.reset()

    def update(self, s: Sample) -> DetectedRep | None:
        t = s[0]
        tp = self._t_prev
        self._t_prev = t
        if tp is None:
            self._lp1 = [s[1], s[2], s[3]]
            self._lp2 = [s[1], s[2], s[3]]
            self._ref = [s[1], s[2], s[3]]
            self._warm_s = 0.0
            return None
        dt = t - tp
        if dt > MAX_GAP_S or dt <= 0.0:
            self.reset()
            self._t_prev = t
            self._lp1 = [s[1], s[2], s[3]]
            self._lp2 = [s[1], s[2], s[3]]
            self._ref = [s[1], s[2], s[3]]
            return None
        # Sensor-clocked samples share one interval: compute the gains once per interval.
        if not -5e-7 < dt - self._dt_key < 5e-7:
            self._dt_key = dt
            self._k = _coeffs(dt)
        k_ = self._k
        a = k_.lp
        l1, l2 = self._lp1, self._lp2
        ax, ay, az = s[1], s[2], s[3]
        l1[0] += a * (ax - l1[0]); l1[1] += a * (ay - l1[1]); l1[2] += a * (az - l1[2])
        l2[0] += a * (l1[0] - l2[0]); l2[1] += a * (l1[1] - l2[1]); l2[2] += a * (l1[2] - l2[2])
        # Impact: the fast part of the acceleration the low-pass took out.
        hx, hy, hz = ax - l1[0], ay - l1[1], az - l1[2]
        shock_now = math.sqrt(hx * hx + hy * hy + hz * hz)
        decay = k_.shock_decay
        self._shock = max(shock_now, self._shock * decay)

        r = self._ref
        dx, dy, dz = l2[0] - r[0], l2[1] - r[1], l2[2] - r[2]
        b = self._bias
        ph = self._phi
        wx, wy, wz = s[4] - b[0], s[5] - b[1], s[6] - b[2]
        ph[0] += wx * dt; ph[1] += wy * dt; ph[2] += wz * dt
        # Tilt seen by the accelerometer: rotation taking the reference gravity to the current
        # one (a' = a - phi x a for a small rotation phi), i.e. phi_perp = a_now x a_ref.
        nr = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]) or 1.0
        nl = math.sqrt(l2[0] * l2[0] + l2[1] * l2[1] + l2[2] * l2[2]) or 1.0
        ux, uy, uz = r[0] / nr, r[1] / nr, r[2] / nr
        k = DEG_PER_G / (nr * nl)
        tx = (l2[1] * r[2] - l2[2] * r[1]) * k
        ty = (l2[2] * r[0] - l2[0] * r[2]) * k
        tz = (l2[0] * r[1] - l2[1] * r[0]) * k
        par = ph[0] * ux + ph[1] * uy + ph[2] * uz
        # Complementary filter: the gyro carries the shape, the accelerometer pulls the tilt
        # back so bias and drift cannot pile up over a set.
        # Only tilt is kept: rotation about gravity (heading) is invisible to the accelerometer,
        # so gyro bias would make it drift, and a calf raise does not turn the leg about gravity.
        # During a heel impact or a step the accelerometer is not gravity: trust the gyro.
        if shock_now > FUSE_SHOCK_G or abs(nl - nr) > FUSE_DEV_G:
            self._t_jolt = t
        kc = k_.fuse if t - self._t_jolt > FUSE_HOLDOFF_S else 0.0
        ph[0] += kc * (tx - (ph[0] - par * ux)) - par * ux
        ph[1] += kc * (ty - (ph[1] - par * uy)) - par * uy
        ph[2] += kc * (tz - (ph[2] - par * uz)) - par * uz
        st = self._state
        if self._axis_n and st == 0 and t - self._t_last_rep > AXIS_FORGET_S:
            # Between sets people adjust the strap or change exercise: learn the axis anew.
            self._axis_n = 0
            self._axis_sum = [0.0, 0.0, 0.0]
        if self._axis_n >= AXIS_MIN_REPS:
            # Once the reps have shown their axis, only rotation along it counts, measured
            # from where the leg rested just before: sway across the axis and a bottom
            # position that drifts between reps no longer read as excursion.
            u = self._axis
            pr = ph[0] * u[0] + ph[1] * u[1] + ph[2] * u[2]
            if not self._base_ok:
                # A new or updated axis: measure from where the leg is now.
                self._base = pr
                self._base_ok = True
            elif st == 0:
                lead = pr - self._base
                ab = k_.base
                if lead < 0.0:
                    self._base += ab * BASE_DOWN_GAIN * lead
                elif lead < BASE_FREEZE * ON_MIN_DEG:
                    self._base += ab * lead
            e = pr - self._base
            if e < 0.0:
                e = 0.0
        else:
            e = math.sqrt(ph[0] * ph[0] + ph[1] * ph[1] + ph[2] * ph[2])
        self._de += k_.slope * ((e - self.signal) / dt - self._de)  # signal: the previous e
        self.signal = e

        # Ring of e for phase timing.
        i = self._ring_i
        self._ring_t[i] = t
        self._ring_e[i] = e
        i += 1
        self._ring_i = 0 if i == self._ring_n else i
        if self._ring_count < self._ring_n:
            self._ring_count += 1

        if self._warm_s < 0.5:
            self._warm_s += dt
            ar = k_.warm
            r[0] += ar * dx; r[1] += ar * dy; r[2] += ar * dz
            if not self._bias_known:
                b[0] += ar * wx; b[1] += ar * wy; b[2] += ar * wz
            ph[0] = ph[1] = ph[2] = 0.0
            return None

        # Start level: above the leg's own idle wobble (sway when standing, almost none on a
        # machine), a share of the usual rep, within fixed bounds.
        if st != 1:  # the rising state does not need it; it is most samples during a set
            on = ON_FRACTION * self._typical_deg
            idle_on = IDLE_FACTOR * self._idle_deg
            if idle_on > on:
                on = idle_on
            if on < ON_MIN_DEG:
                on = ON_MIN_DEG
            elif on > ON_MAX_DEG:
                on = ON_MAX_DEG
        if st == 0:
            self._idle_deg += k_.idle * (e - self._idle_deg)
            if e < 0.35 * on:
                self._t_below = t
            if e > on:
                self._begin(self._t_below, e)
            else:
                ar = k_.ref
                r[0] += ar * dx; r[1] += ar * dy; r[2] += ar * dz
                ph[0] -= ar * ph[0]; ph[1] -= ar * ph[1]; ph[2] -= ar * ph[2]
                if wx * wx + wy * wy + wz * wz < BIAS_MAX_DPS * BIAS_MAX_DPS:
                    ab = k_.bias
                    b[0] += ab * wx; b[1] += ab * wy; b[2] += ab * wz
                    self._bias_known = True
            return None
        if st == 1:
            if e > self._peak:
                self._peak = e
                self._t_peak = t
                pk = self._phi_peak
                pk[0], pk[1], pk[2] = ph
            if e > 0.85 * self._peak or t - self._t_peak < 0.1:
                if self._shock > self._max_shock_mid:
                    self._max_shock_mid = self._shock
            elif self._shock >= SHOCK_BOUNCE_G:
                # The heel hit the ground on the way down: this rep is over, whatever the
                # tilt says, and a rebound starts the next one at once.
                self._settle(t, e, self._shock, t)
                return None
            dv = abs(nl - nr)  # vertical acceleration, to first order whatever the tilt
            if dv > self._vert_g:
                self._vert_g = dv
            if -self._de > self._down_rate and e < self._peak:
                self._down_rate = -self._de
            if t - self._t_start > MAX_REP_S:
                return self._abandon(t)
            if abs(e - self._stall_e) > STALL_FRACTION * self._peak:
                self._stall_e = e
                self._t_stall = t
            elif t - self._t_stall > STALL_S:
                # Got into a machine, sat down, leant on the other leg: the leg rests in a
                # new position. Measure from there instead of waiting for it to come back.
                return self._abandon(t)
            if e < OFF_FRACTION * self._peak:
                self._settle(t, e, 0.0, t)
            return None
        # st == 2: the leg is back near the reference; watch for the heel impact / rebound.
        if -self._de > self._down_rate:
            self._down_rate = -self._de
        if e < self._min_after:
            self._min_after = e
            self._t_min_after = t
        if self._shock > self._end_shock:
            self._end_shock = self._shock
            self._t_end_shock = t
        bounced = self._end_shock >= SHOCK_BOUNCE_G
        if e < LANDED_FRACTION * self._peak:
            if self._t_landed is None:
                self._t_landed = t
        if e > self._min_after + 0.5 * on:
            if self._t_landed is None and not bounced:
                # Came straight back up without landing: the same movement goes on.
                self._state = 1
                self.phase = "up"
                return None
            # Landed and went straight up again: this rep ends, the next has begun.
            rep = self._finish(t)
            self._begin(self._t_end_shock if bounced else self._t_min_after, e)
            return rep
        if bounced and t - self._t_end_shock >= BOUNCE_CONFIRM_S:
            return self._finish(t)
        if self._t_landed is not None:
            # The heel is nearly down; on a min-jerk lowering the rest takes a known share of
            # the lowering time (from its steepest slope). Wait that long plus a margin, so a
            # late heel impact or rebound is still seen.
            lower_s = 1.875 * self._peak / self._down_rate if self._down_rate > 0 else 1.0
            wait_s = min(LANDED_WAIT_MAX_S, _MJ_REMAIN_LANDED * lower_s + LANDED_MARGIN_S)
            if t - self._t_landed >= wait_s:
                return self._finish(t)
        if t - self._t_end_cross >= SETTLE_MAX_S:
            return self._finish(t)
        return None

    def _settle(self, t: float, e: float, shock: float, t_shock: float) -> None:
        """The leg is coming back down: wait for it to land (or rebound) before emitting."""
        self._state = 2
        self.phase = "settling"
        self._t_end_cross = t
        self._end_shock = shock
        self._t_end_shock = t_shock
        self._min_after = e
        self._t_min_after = t
        self._t_landed = None

    def _begin(self, t_start: float, e: float) -> None:
        """A rep may be under way since ``t_start``."""
        self._state = 1
        self.phase = "up"
        self._peak = e
        self._down_rate = 0.0
        self._vert_g = 0.0
        self._t_peak = t_start
        self._t_start = t_start
        self._max_shock_mid = 0.0
        self._stall_e = e
        self._t_stall = t_start

    def _abandon(self, t: float) -> None:
        """Too long for a rep (a posture change): start afresh from where the leg is now."""
        self._state = 0
        self.phase = "idle"
        self._t_below = t
        r = self._ref
        r[0], r[1], r[2] = self._lp2
        ph = self._phi
        ph[0] = ph[1] = ph[2] = 0.0
        return None

    def _finish(self, t: float) -> DetectedRep | None:
        """The heel is down: judge the movement, time its phases, learn from it."""
        peak = self._peak
        self._state = 0
        self.phase = "idle"
        self._t_below = t
        t_start = self._t_start
        t_end_cross = self._t_end_cross
        dur = t_end_cross - t_start
        if dur < MIN_REP_S or self._max_shock_mid > SHOCK_WALK_G:
            return None
        if peak > (MAX_VS_TYPICAL * self._typical_deg if self._typical_deg > 0 else MAX_FIRST_DEG):
            return None
        if self._vert_g < MIN_LIFT_G:
            return None  # the leg tilted but nothing was lifted: sway or a shift of weight
        # Read the rep's e trace back from the ring (oldest first).
        n = self._ring_count
        idx = (self._ring_i - n + np.arange(n)) % self._ring_n
        ts = self._ring_t[idx]
        es = self._ring_e[idx]
        sel = ts >= t_start - 0.05
        ts, es = ts[sel], es[sel]
        k_peak = int(np.argmax(es))
        lo, hi = 0.1 * peak, 0.9 * peak
        up_e, up_t = es[: k_peak + 1], ts[: k_peak + 1]
        dn_e, dn_t = es[k_peak:], ts[k_peak:]
        t10u = _first_cross_up(up_t, up_e, lo)
        t90u = _first_cross_up(up_t, up_e, hi)
        t90d = _last_above(dn_t, dn_e, hi)
        t10d = _first_cross_down(dn_t, dn_e, lo)
        # Tempo from the steepest slope: a min-jerk move of size A and duration T peaks at
        # 1.875 A / T. Unlike threshold crossings this ignores a slow drift into the start.
        span = max(1, int(round(SLOPE_SPAN_S / max(1e-4, float(np.median(np.diff(ts))) if len(ts) > 2 else 0.01))))
        if len(es) > span + 1:
            slope = (es[span:] - es[:-span]) / np.maximum(ts[span:] - ts[:-span], 1e-6)
            kp = min(k_peak, len(slope))
            up_rate = float(slope[:kp].max()) if kp > 0 else 0.0
            dn_rate = float(-slope[kp:].min()) if kp < len(slope) else 0.0
        else:
            up_rate = dn_rate = 0.0
        lift_s = 1.875 * peak / up_rate if up_rate > 0 else (t90u - t10u) / _MJ_10_90
        lower_s = 1.875 * peak / dn_rate if dn_rate > 0 else (t10d - t90d) / _MJ_10_90
        if lift_s < MIN_PHASE_S or lower_s < MIN_PHASE_S:
            return None  # a swing of the leg (a step), far faster than a heel can rise
        # A shallow slope stretches the estimate: the rep cannot have started before the
        # movement was first seen, nor been lifting longer than it took to reach the top.
        start_s = max(t10u - _MJ_0_10 * lift_s, float(ts[0]))
        lift_s = min(lift_s, max(MIN_PHASE_S, t90u - start_s + _MJ_0_10 * lift_s))
        lift_end = t90u + _MJ_0_10 * lift_s
        hold_end = t90d - _MJ_0_10 * lower_s
        end_s = t10d + _MJ_0_10 * lower_s
        hold_s = max(0.0, hold_end - lift_end)
        top_s = 0.5 * (lift_end + max(hold_end, lift_end))
        flags: list[str] = []
        if self._end_shock >= SHOCK_BOUNCE_G:
            flags.append(BOUNCING)
            end_s = self._t_end_shock
        # The heel cannot be down later than the moment we know it is.
        end_s = min(end_s, t)
        if lift_s + lower_s < self.too_fast_s:
            flags.append(TOO_FAST)
        pk = self._phi_peak
        npk = math.sqrt(pk[0] * pk[0] + pk[1] * pk[1] + pk[2] * pk[2])
        if npk > 0.0:
            asum = self._axis_sum
            for j in range(3):
                asum[j] = (1.0 - AXIS_WEIGHT) * asum[j] + AXIS_WEIGHT * pk[j] / npk
            na = math.sqrt(asum[0] * asum[0] + asum[1] * asum[1] + asum[2] * asum[2]) or 1.0
            self._axis = [asum[0] / na, asum[1] / na, asum[2] / na]
            self._axis_n += 1
            self._base_ok = False
        self._t_last_rep = t
        rp = self._recent_peaks
        rp.append(peak)
        if len(rp) > 5:
            del rp[0]
        self._typical_deg = sorted(rp)[len(rp) // 2] if len(rp) >= 3 else 0.0
        return DetectedRep(start_s, top_s, end_s, t, lift_s, hold_s, lower_s, peak, tuple(flags))


def _first_cross_up(t: np.ndarray, e: np.ndarray, level: float) -> float:
    k = int(np.argmax(e >= level))
    if k == 0:
        return float(t[0])
    e0, e1 = e[k - 1], e[k]
    return float(t[k - 1] + (t[k] - t[k - 1]) * (level - e0) / (e1 - e0 or 1.0))


def _last_above(t: np.ndarray, e: np.ndarray, level: float) -> float:
    above = np.nonzero(e >= level)[0]
    k = int(above[-1]) if len(above) else 0
    return float(t[k])


def _first_cross_down(t: np.ndarray, e: np.ndarray, level: float) -> float:
    below = np.nonzero(e < level)[0]
    if not len(below):
        return float(t[-1])
    k = int(below[0])
    if k == 0:
        return float(t[0])
    e0, e1 = e[k - 1], e[k]
    return float(t[k - 1] + (t[k] - t[k - 1]) * (e0 - level) / (e0 - e1 or 1.0))
