"""Causal calf-raise detector, one sample at a time.

A calf raise moves the strap two ways at once, and the detector watches both:

* **T, the tilt channel.** The gyro rate (less a bias learned whenever the leg is still, and
  from gravity's direction until it first is: a standing user may sway through a whole set)
  projected on the axis the leg turns about. That axis is learned from the rotation angle of
  the last second or so (principal direction, by power iteration), so the strap can sit any
  way round; fast small wobble (balancing on one leg) has a large rate but little angle and
  does not take it over. Just above the ankle a rep turns the shank 1-6 deg; seated it is
  ~6 deg; on the instep the foot pitches ~45 deg.
* **V, the vertical channel.** The length of the low-passed acceleration less its value at
  rest is the vertical acceleration whatever the orientation (to first order); integrated with
  a leak it is a vertical velocity in cm/s. A heel rise lifts the leg 3-9 cm, so this channel
  sees the hack-squat sled and the leg press, where the shank hardly turns, and is blind to
  sway and wobble, which turn the shank without lifting it. Heel strikes zero it (the leg
  stops), its rest level is taken at the session's first stillness, and a lasting offset (a
  new posture) resets it. An accelerometer bias b
  adds b.g to |a|, g being gravity's direction in the sensor frame, so it reads as vertical
  acceleration whenever the leg turns (45 deg on the instep turns 27 mg into ~15 mg): g is
  followed with the gyro, the bias learned from rest-to-rest moves (the vertical speed is zero
  at both ends) and its share taken off |a|.

Each channel is cut into **lobes**: runs of one sign from near zero to near zero that reach an
on-level above the channel's own noise. A rep is a lift lobe followed, after at most a held top,
by a lowering lobe. In T the two lobes are the lift and the lowering themselves, with areas of
about the rep's rotation each (a turn back of under a quarter of the lift is the heel
sagging in a held top, not the lowering). V is band-limited, so a slow rep shows as up / top / up:
the rep is an up lobe followed by the (larger) top lobe. Which T sign is the lift is voted:
the tilt under a V rise is a lift, the first movement after a rest is a lift (once the gyro
offset is learned: before, the offset itself reads as a movement), a movement ending in a heel
strike was a lowering. V's lift sign is physics: a heel rise accelerates the leg up.

**Fusion.** A rep seen by both channels is counted (also when V's view ended in a long hold,
before the tilt turned back, and was refused alone: the tilt's rep, when its lowering comes,
is that one). A rep seen by one channel only is counted
when it fits the set under way (within ``SET_GAP_S`` of the last rep, and of the usual size for
that channel) or, after waiting briefly for the other channel, when it is clearly a rep on its
own. A tilt rep after a quiet leg that matches the session's usual tilt also starts a set: a
leg press turns the shank only 1-1.5 deg, too little to count alone, so its next set starts
like the last. A V rep in a set too small to count alone counts when the tilt turned up under
its rise and back under its fall, even by less than the tilt channel pairs on its own (the
leg press again). Two tilt reps too big to count alone (the instep's 45 deg, where V barely sees
a slow raise) count without V when they are alike and the leg rests between them (a stride's
tilts follow each other with no pause). A V rep that fits the set while the tilt's lift of the
last rep has not turned back is a piece of that rep (V splits a slow rep with a long hold): the
heel is still up. When a rep starts a set, the rep refused alone just before it, alike it,
was the set's first and counts too. Not reps: a heel strike in the middle of a movement or
the leg carried along the floor (acceleration across gravity: walking), phases faster than a
heel can rise or a whole rep under ``MIN_REP_S`` (a jiggling leg), swings far bigger
than the usual rep, a tilt that does not turn back about as far as it went (sway), a tilt
that lifts the sensor less than ``LEVER_MIN_CM`` per radian turned (a leg swinging about the
knee, a stride: a heel raise turns about the toes, and lifts the shank as it turns). Slow
tempos are reps: a lift or lowering may take up to ``MAX_PHASE_S`` and the top may be held up
to ~2.5 s.

**Flags and timing.** Lift and lower times come from the lobes (a min-jerk move of size A and
duration T peaks at 1.875 A/T), so a slow drift into a rep does not stretch them; the
widening a channel's smoothing adds is taken off the reported phases (it is most of a fast
lift's length in V). V's leaky speed can end a rep's top lobe during a long hold; when the
tilt under it has lifted and not yet turned back, the rep waits for the tilt's lowering and
takes its timing; when its lowering lobe has ended and V rises again (the leak's overshoot as
the heel brakes), it waits up to ``LATE_WAIT_S`` more. A rep is reported ``BOUNCE_WAIT_S``
after the heel is down; a heel impact at the landing marks it ``bouncing`` and ends it at the
impact. An impact is a sample that stands out from its neighbours at least 10 ms either side
(a whole number of samples at the mean interval) by at least ``SHOCK_BOUNCE_G`` (a bounce
hits the ground with 0.4-2 g in 15-40 ms; a fast rep's own deceleration, up to ~0.7 g, is
smooth) plus what the rep's own smooth stop reads as at that sample interval (a neighbour
40 ms away at 25 Hz sees a fast lowering's curvature).

Per-sample work is O(1) and memory is fixed; the slow estimators run on sample time: gyro bias
and stillness every ``SLOW_STEP_S``, gravity's direction and the accelerometer bias every
``GRAVITY_STEP_S``, the axis every ``AXIS_STEP_S``. Time constants are in seconds, so
behaviour does not depend on the sample rate.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from counter.config import CounterConfig
from counter.events import BOUNCING, TOO_FAST
from counter.sample import Sample


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


# Detector constants. Levels are deg/s and deg (T), cm/s and cm (V) or g. They were checked
# on two disjoint halves of the labelled traces and at 25-400 Hz, not fitted to one recording.
MAX_GAP_S = 0.25           # a longer hole in the timestamps restarts the motion state
TAU_LP_S = 0.05            # two cascaded EMAs on the accelerometer: ~3 Hz, drops shake
TAU_GYRO_S = 0.04          # gyro smoothing
TAU_SHOCK_S = 0.05         # decay of the shock envelope (acceleration above ~3 Hz)
TAU_STILL_S = 0.25         # the leg is still when rate and acceleration stay near their
STILL_DPS = 1.0            # ...quarter-second averages (within this)...
STILL_G = 0.004            # ...and this...
STILL_FOR_S = 0.3          # ...for this long; then the gyro bias is learned...
BIAS_MEMORY_SHARE = 0.5    # ...with a memory of half the stillness seen so far (a mean over T s is
TAU_BIAS_FAST_S = 0.5      # ...as noisy as an EMA of T/2), at least this...
TAU_BIAS_S = 12.0          # ...and at most this (16 and 24 s measure alike)
BIAS_KNOWN_S = 1.0         # after this much stillness the offset is mostly learned (2 x fast tau)
TAU_ANGLE_S = 0.7          # rotation angle of the last second or so, for the axis
ANGLE_CLIP_DEG = 8.0       # a sit-down or a stride must not own the axis
TAU_AXIS_S = 20.0          # memory of the axis
TAU_REST_G_S = 2.0         # |a| at rest follows the leg this fast...
REST_BAND_G = 0.02         # ...while within this of it; outside it for...
REST_SNAP_S = 1.0          # ...this long is a new posture: start from there
LEAK_SPREAD = 0.27         # V's leak leaves 1/(1 + 0.27 T/tau) of a T-second lift's peak speed
RETURN_CLOSE = 1.3         # ...put back for tilts that turn back within this ratio of their lift
TAU_VERT_S = 1.0           # leak of the vertical velocity
IMPACT_STENCIL_S = 0.01    # heel impacts: the sample's departure from its neighbours at least
                           # this far away (a 15-40 ms spike; a fast rep's own stop is smooth)...
DT_AVG_K = 0.02            # ...at the mean sample interval, which this per sample averages
TAU_IMPACT_S = 0.05        # decay of the impact envelope
SHOCK_STOP_G = 0.3         # a shock this hard is a heel strike: it stops the leg (sampled at
STOP_SET_AT_S = 0.02       # ...50 Hz or faster: coarser, the low-pass has moved further towards
                           # a spike within its sample, and the threshold scales with it)...
STOP_HOLD_S = 0.15         # ...and the low-pass rings this long after it
STOP_SPIKE_G = 0.15        # ...if it has an impact spike this hard (a fast rep's own 0.66 g is smooth)
TAU_NOISE_S = 10.0         # a channel's noise level rises this slowly (falls 10x faster)

T_ON_DPS = 0.6             # T lobe on-level: at least this...
T_ON_NOISE = 3.0           # ...and this many times the channel noise
T_MIN_DEG = 0.6            # smallest lobe worth pairing...
T_AREA_ON_DEG = 0.4        # ...and a slow turn this far is a lobe below the on-level
AGREE_MIN_DEG = 0.3        # ...and of a tilt that turns up and back under a V rep
SMALL_LIFT_VOTE = 0.3      # a first movement after a rest under T_MIN_DEG (but T_AREA_ON_DEG) votes a
                           # ...lift this weakly (a rest's or V's vote weighs 1; votes keep 0.8 of the last)
V_ON_CMS = 0.8             # V lobe on-level: at least this...
V_ON_NOISE = 4.0           # ...and this many times the channel noise
V_MIN_CM = 0.8             # smallest V top lobe worth counting
T_END_FRACTION = 0.15      # a lobe ends below this share of its peak (or near the noise); a
V_END_FRACTION = 0.1       # ...shank settles slowly after the heel is down, so T ends sooner
T_LATE_FRACTION = 0.4      # ...and below this share once past a min-jerk move's end (a slow settle)
RECENT_LOBES = 12          # a channel's last lobes the other channel looks at (a rep and its tails' pieces)
MERGE_GAP_S = 0.6          # same-sign lobes this close are one (a long hold splits a lowering)
HOLD_MAX_S = 3.0           # longest gap from lift to lowering (a hold of 2.5 s, lobe tails cut)
AREA_RATIO_MAX = 6.0       # a lowering turns back at most this many times the lift...
TILT_ONLY_RATIO_MAX = 4.0  # ...and at least 1/4 of it (less is a sag while the heel is up); a
                           # tilt-only rep within 4x (sway, a shift of stance does not turn back)
REST_BEFORE_LIFT_S = 3.0   # after this long without a lobe the next movement is a lift
EDGE_S = 0.12              # a shock this close to a lobe's start is the previous landing
LANDED_SHARE = 0.8         # ...(or before 1 - this share of its travel), one after it is this landing
SHOCK_WALK_G = 0.8         # a heel strike this hard in the middle of a movement is a step
SHOCK_STRIKE_G = 0.2       # shock (3 Hz high-pass) of a heel strike
SHOCK_BOUNCE_G = 0.1       # impact (spike) of a bouncing rep's landing; a controlled one is far softer
MIN_PHASE_S = 0.12         # fastest plausible lift or lowering
MAX_PHASE_S = 6.0          # slowest (a slow tempo lowers the heel in 4 s and more); V reads
MAX_V_PHASE_S = 5.0        # ...phases ~30 % long, yet takes in more drift: this for V...
MAX_ALONE_PHASE_S = 4.0    # ...and this for V alone outside a set (a slow sag, a new posture)
MIN_REP_S = 0.4            # fastest lift + lowering (a jiggling leg swings at 3-4 Hz)
LEVER_MIN_CM = 4.0         # a tilt rep lifts the sensor at least this far per radian turned (cm)...
LEVER_MAX_PHASE_S = 0.9    # ...checked on turns this quick (a stride swings in < 0.8 s)
TEMPO_RATIO_MAX = 3.5      # lift and lowering take within 2.4x of each other (3.5 measured)
SET_GAP_S = 6.0            # a rep this soon after the last one belongs to the set under way
IN_SET_FRACTION = 0.5      # in a set, a rep seen by one channel counts from this share...
MAX_VS_TYPICAL = 3.5       # ...to this many times the usual size in that channel (a rep both
BOTH_FLOOR_DEG = 10.0      # ...see may always turn this far: the shank turns 1-6 deg in a rep)
ALONE_MIN_DEG = 2.0        # outside a set, a tilt-only rep must be at least this...
ALONE_UNSETTLED_MIN_DEG = 2.5  # ...(this, back within RETURN_CLOSE, with no quiet second before it)...
ALIKE_MIN = 0.8            # ...or, after a quiet leg, within this...
ALIKE_MAX = 1.25           # ...and this share of the session's usual tilt (a leg press turns
ALIKE_QUIET_S = 1.0        # ...the shank 1-1.5 deg: a new set of such reps starts like the last)
QUIET_MAX_DEG = 0.3        # ...(a lobe under this leaves the leg quiet: a noisy gyro crossing the
                           # on-level makes 0.02-0.2 deg ones; sway swings 1-2 deg)
ALONE_MAX_DEG = 15.0       # ...and neither turn more than this (a stride, a sit-down); V is
                           # blind through a turn this big (the accelerometer bias turns too)
ONE_MOVE_SPAN = 2.0        # a lobe spanning more than this many times its min-jerk duration is
                           # more than one movement (a drift joined to it)
T_LIFT_CMS = 0.7           # a tilt-only rep must still lift the leg this fast (a lean does not)
T_LIFT_NOISE = 4.0         # ...in a set, a slow seated raise may rise slower: 4x V's noise...
T_LIFT_MIN_CMS = 0.3       # ...but at least this...
SLOW_LIFT_SIZE = 0.7       # ...and with a tilt of at least this share of the usual
ALONE_MIN_CM = 2.0         # outside a set, a V-only rep's top lobe must be at least this...
V_UP_SHARE = 0.1           # ...after a lift of at least this share of it
HOLD_S = 0.4               # wait this long for the other channel to confirm a V rep...
HOLD_T_S = 0.1             # ...or a tilt rep (V's top lobe ends before the tilt's lowering)...
HOLD_BIG_T_S = 0.3         # ...or a tilt rep too big to count alone, which V must confirm
TRAVEL_KNOWN_CM = 3.5      # once the session's tilt reps move the sensor this far up and back
                           # ...(cm), a pair of turns that brings it down is no rep, and once
TRAVEL_SHARE = 0.4         # ...all but one of the last four or five do, nor one that moves it
                           # ...under this share of the least of those
ALONE_TRAVEL_MIN_CM = -2.0 # a tilt rep alone that moves the sensor further down than this is none
V_VOTE = 1.0               # weight of V's say on which tilt is the lift
V_REMAIN = 0.1             # V's top lobe ends before the heel is down: this share of lowering,
V_WAIT_MAX_S = 0.1         # ...or up to this much more for a slow one (V's leak ends it early)
TILT_WAIT_S = 1.0          # a V rep whose tilt lift has not turned back waits this long for it
DOWN_AFTER_END = 0.15      # the heel lands at most this share of a lowering after its tilt lobe
BOUNCE_WAIT_S = 0.2        # after the heel should be down, watch this long for an impact
LATE_WAIT_S = 0.3          # ...and at most this much more: while V rises after a lowering it
BRAKE_TAIL_S = 0.03        # ...timed, and this past its top (through a chip's noise it tops early),
STEP_GAP_S = 0.1           # ...or while a turn opened this soon after a tilt-only rep's landing
                           # ...(after a V-only rep's top, while it waits for its landing)...
STEP_RATE_RATIO = 5.0      # ...(tilt-only: this many times its own peak rate)...
STEP_RATE_DPS = 20.0       # ...and at least this fast may yet outgrow every rep's turn: a stride,
                           # ...and the "rep" was its weight shift
IMPACT_BEFORE_S = 0.8      # ...or this long before it (a tilt lowering that settles slowly puts
                           # ...the heel-down estimate up to ~0.7 s after the heel is down)
DISPLAY_TAU_S = 3.0        # leak of the plotted tilt excursion
TAU_GRAV_BIAS_S = 5.0      # before the first stillness the gyro offset is learned from gravity...
GRAV_BIAS_BAND_G = 0.1     # ...while |a| is within this of 1 g...
GRAV_BIAS_STEP_S = 1.0     # ...and not this soon after a step
TAU_GDIR_S = 1.0           # gravity's direction: the gyro turns it, the accelerometer pulls it this slowly
STEP_ACROSS_G = 0.4        # acceleration across gravity in a step (walking 1.3-2.4 g; reps < 0.25 g)
FIT_MAX_S = 8.0            # accelerometer bias: from rest-to-rest moves this short (gyro drift)...
FIT_MEMORY = 0.95          # ...each move's equation weighing this much less per later move...
FIT_RIDGE_S2 = 10.0        # ...against a ridge (s^2): the shank turns too little to learn it from,
                           # ...45 deg on the instep teaches it in a few reps
FIT_MAX_G = 0.1            # ...and an estimate larger than this is not believed
BIG_GAP_S = 0.1            # two big tilt reps alike count without V if the leg rests this long...
BIG_ALIKE = 0.8            # ...between them, their tilts within this ratio...
BIG_TEMPO = 1.5            # ...and their lifts and lowerings within this one
SLOW_RUN = 3               # this many small slow tilt reps alike, each after a quiet leg, start a set...
SLOW_ALIKE = 1.5           # ...each one's tilt, lift and lowering within this ratio of the one before
LAG_S = 2 * TAU_LP_S - TAU_GYRO_S  # the accelerometer's two low-passes lag the gyro's one by this
GRAVITY_STEP_S = 0.08      # g is turned this often (a stride's push-off lasts ~0.2 s)
SLOW_STEP_S = 0.02         # bias and stillness are updated this often (sample time)...
AXIS_STEP_S = 0.1          # ...and the axis this often
MJ_ENERGY = 256.0 / 630.0  # a min-jerk speed profile squared integrates to this x peak^2 x duration
BLUR_SCALE = 9.0           # ...and each EMA of time constant tau lengthens that duration's
                           # square by ~9 tau^2 (8.2-9.5 for 0.3-2 s phases, computed)
_BLUR_T_S2 = BLUR_SCALE * TAU_GYRO_S ** 2       # T: the gyro EMA
_BLUR_V_S2 = BLUR_SCALE * 2 * TAU_LP_S ** 2     # V: two accelerometer EMAs
_RAD = math.pi / 180.0
_STILL_DPS2 = STILL_DPS * STILL_DPS
# Times compared with a step or a duration are allowed this much rounding: sums of 0.02 s
# read 0.0399999... and timestamps near 1.7e9 s (a Unix clock) are 0.24 us apart, so a step
# was taken a sample early or late depending on how far the timestamps were from zero.
_STEP_EPS_S = 1e-6
_STRIDE, _MAYBE_STRIDE = "stride", "maybe a stride"  # what a one-channel rep's landing ran into
_STILL_G2 = STILL_G * STILL_G
_STEP_ACROSS_G2 = STEP_ACROSS_G * STEP_ACROSS_G
_ANGLE_CLIP_DEG2 = ANGLE_CLIP_DEG * ANGLE_CLIP_DEG


class _Lobe(NamedTuple):
    sign: int
    t_start: float
    t_end: float
    area: float       # deg (T) or cm (V)
    peak: float       # |rate| at its peak
    moment: float     # integral of t * x dt: moment / area is the lobe's centre in time
    mid_shock: float  # largest shock in the middle of the movement, g (0 if none)
    end_shock: float  # shock envelope when the lobe ended, g
    lift_cms: float   # largest vertical speed during the lobe, cm/s (T lobes)
    energy: float     # integral of x^2 dt (deg^2/s or cm^2/s)
    at_start: tuple[float, float, float] = (0.0, 0.0, 0.0)  # (T) the vertical integrals when it started...
    at_end: tuple[float, float, float] = (0.0, 0.0, 0.0)    # ...and ended: see _travel_cm


def _v_landing_after_s(lower_s: float) -> float:
    """How long after V's lowering lobe ends the heel is down, for a lowering whose lobe reads
    ``lower_s`` (size over peak). V's leak is a high-pass, so a slow lowering's lobe ends early:
    through V's low-pass and leak a min-jerk lowering of 2.5 s ends its lobe 0.64 s before the
    heel is down (0.0726 x^2 + 0.277 x - 0.19 of tau, x = lower_s / tau: computed, within 12 ms
    for 0.3-3.4 s). On the recordings drift lengthens V's lobes (3.1 s read for a 1.4 s
    lowering), so that is an upper bound: the wait goes at most V_WAIT_MAX_S past
    V_REMAIN of the lowering, which keeps a rep within the report delay."""
    x = lower_s / TAU_VERT_S
    leak_s = TAU_VERT_S * (0.0726 * x * x + 0.277 * x - 0.19)
    base_s = V_REMAIN * lower_s
    return max(base_s, min(leak_s, base_s + V_WAIT_MAX_S))


def _joined(a: _Lobe, b: _Lobe, area: float) -> _Lobe:
    """Lobe ``a`` and the later lobe ``b`` of the same sign as one movement turning ``area`` in
    all (what turned between them counts there; the moment and energy are the two lobes')."""
    return _Lobe(a.sign, a.t_start, b.t_end, area, max(a.peak, b.peak), a.moment + b.moment,
                 max(a.mid_shock, b.mid_shock), b.end_shock, max(a.lift_cms, b.lift_cms), a.energy + b.energy,
                 a.at_start, b.at_end)


class _LobeTracker:
    """Lobes of a velocity-like signal: runs of one sign that reach the on-level (or, clear of
    the noise, add up to ``area_on``), from the last time the signal was near zero to the next
    time it is back near zero."""

    def __init__(self, on_min: float, on_noise: float, end_fraction: float, area_on: float = math.inf,
                 late_fraction: float = 0.0):
        self.on_min = on_min
        self.late_fraction = late_fraction
        self.area_on = area_on
        self.on_noise = on_noise
        self.end_fraction = end_fraction
        self.floor = 0.3 * on_min / on_noise
        self.noise = on_min / on_noise
        self.sign = 0
        self.t_low = 0.0
        self.area = 0.0
        self.peak = 0.0
        self.moment = 0.0
        self.energy = 0.0
        self.shock = 0.0
        self.t_shock = 0.0
        self.area_at_shock = 0.0
        self.aux = 0.0
        self.at_low = (0.0, 0.0, 0.0)

    def _past_move_end(self, t: float) -> bool:
        """``t`` is past the end of a min-jerk move with the lobe so far (its centre plus half its
        duration, 1.875 area / peak): what follows is the shank settling, not the move."""
        a = self.area if self.area > 0.0 else -self.area
        return t > self.moment / self.area + 0.9375 * a / self.peak

    def update(self, t: float, x: float, dt: float, k_noise: float, shock: float,
               aux: float = 0.0, at: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> _Lobe | None:
        """Feed one sample of the signal ``x``; returns the lobe that just ended, if any. The
        largest ``shock`` and ``aux`` (for T: the vertical speed) during a lobe go with it, and
        ``at`` (for T: the vertical integrals) as it started and ended."""
        ax = x if x >= 0.0 else -x
        near_zero = 1.5 * self.noise
        sign = self.sign
        done = None
        if sign != 0:
            xs = x * sign
            if (xs < near_zero or xs < self.end_fraction * self.peak
                    or (xs < self.late_fraction * self.peak and self._past_move_end(t))):
                # A strike near the start (in time or in travel: with no pause at the bottom
                # the next lift's lobe can open before the impact) is the previous landing, one
                # late in the travel is this one's; walking strikes the heel mid-swing.
                a_shock, a_all = abs(self.area_at_shock), abs(self.area)
                mid = self.shock if (self.t_shock > self.t_low + EDGE_S
                                     and (1.0 - LANDED_SHARE) * a_all <= a_shock < LANDED_SHARE * a_all) else 0.0
                done = _Lobe(sign, self.t_low, t, self.area, self.peak, self.moment, mid, shock, self.aux,
                             self.energy, self.at_low, at)
                self.sign = sign = 0
        area = self.area
        if done is not None or ax < near_zero or (area != 0.0 and (x > 0.0) != (area > 0.0)):
            # Near zero (or the sign flipped): a lobe starts from here at the earliest.
            self.t_low = t
            self.at_low = at
            self.area = area = x * dt
            self.peak = ax
            self.moment = t * area
            self.energy = x * area
            self.shock = shock
            self.t_shock = t
            self.area_at_shock = area
            self.aux = aux
        else:
            xdt = x * dt
            self.area = area = area + xdt
            self.moment += t * xdt
            self.energy += x * xdt
            if ax > self.peak:
                self.peak = ax
            if shock > self.shock:
                self.shock = shock
                self.t_shock = t
                self.area_at_shock = area
            if aux > self.aux:
                self.aux = aux
            if sign != 0:
                return None  # still in the lobe
        if ((ax > self.on_min or (area if area >= 0.0 else -area) >= self.area_on)
                and ax > self.on_noise * self.noise):
            self.sign = 1 if x > 0.0 else -1
        else:
            noise = self.noise
            noise += (k_noise if ax > noise else 10.0 * k_noise) * (ax - noise)
            self.noise = noise if noise > self.floor else self.floor
        return done


class _Pairer:
    """Turns a channel's lobes into (lift, lowering) pairs.

    ``top_mode`` (V): the rep is an up lobe followed by the top lobe; the up lobe can be small.
    Otherwise (T): lift and lowering lobes of similar size.
    """

    def __init__(self, on_min: float, on_noise: float, end_fraction: float, area_min: float, top_mode: bool,
                 lift_sign: int = 0, vote_max: float = math.inf, area_on: float = math.inf,
                 late_fraction: float = 0.0):
        self.lobes = _LobeTracker(on_min, on_noise, end_fraction, area_on, late_fraction)
        self.area_min = area_min
        self.vote_max = vote_max
        self.top_mode = top_mode
        self.fixed_sign = lift_sign  # known from physics (V), or 0: voted
        self.lift_sign = lift_sign
        self.votes = 0.0
        self.pending: _Lobe | None = None  # the lift lobe waiting for its lowering
        self.paired: _Lobe | None = None   # the last lowering paired with its lift
        self.last: _Lobe | None = None
        self.last_lift: _Lobe | None = None
        self.recent: list[_Lobe] = []  # the last few lobes, for the other channel to vote on
        self.rest_votes_from = math.inf  # rests vote from then on: once the gyro offset is learned
        self.between = 0.0               # deg turned since the pending lift
        self.alt: _Lobe | None = None    # the pending lift with the one before it, in reserve
        self.t_started = -math.inf       # the first sample's time, or the first after a gap
        self.vote_min = 0.0  # a first movement after a rest this small says nothing (T: half the usual rep)

    def vote(self, sign: int, weight: float = 1.0) -> None:
        """Evidence that lobes of ``sign`` are lifts."""
        self.votes = 0.8 * self.votes + weight * sign
        if not self.fixed_sign and self.votes != 0.0:
            was = self.lift_sign
            self.lift_sign = 1 if self.votes > 0.0 else -1
            if was != 0 and self.lift_sign != was:
                # What read as lowerings were lifts: the last movement, if it now reads as a
                # lift, is the one waiting for its lowering (else the rep under way is lost).
                last = self.last
                self.pending = (last if last is not None and last.sign == self.lift_sign
                                and self._may_lift(last) else None)

    def _may_lift(self, lobe: _Lobe) -> bool:
        """A lobe already under way at the first sample (or the first after a gap) is no lift:
        its start was never seen, and before the gyro offset is learned it is mostly the
        offset. (Waiting as a lift, it took the first rep's lift for its lowering and paired
        every lowering after with the next rep's lift.)"""
        return lobe.t_start > self.t_started

    def feed(self, lobe: _Lobe) -> tuple[_Lobe, _Lobe] | None:
        # Raw lobes, and enough of them that a lift's tail of small lobes does not push the lift
        # itself out of what the other channel looks at.
        rc = self.recent
        rc.append(lobe)
        if len(rc) > RECENT_LOBES:
            del rc[0]
        prev = self.last
        if prev is not None and prev.sign == lobe.sign and lobe.t_start - prev.t_end < MERGE_GAP_S - _STEP_EPS_S:
            lobe = _joined(prev, lobe, prev.area + lobe.area)
            if self.pending is prev:
                self.pending = self.last = lobe
                return None
            if self.paired is prev:
                # The rest of a lowering already paired: it is no lift of the next rep (while
                # the lift's sign is unknown any lobe may be one, and it was counted twice).
                self.paired = self.last = lobe
                return None
        after_rest = prev is None or lobe.t_start - prev.t_end >= REST_BEFORE_LIFT_S - _STEP_EPS_S
        self.last = lobe
        self.between += lobe.area
        if self.lift_sign != 0 and lobe.sign == self.lift_sign:
            self.last_lift = lobe
            if self.top_mode:
                self.pending = lobe if self._may_lift(lobe) else None
                return None
        # After a rest the leg is at the bottom: the first movement is a lift.
        first_move = (not self.fixed_sign and after_rest and lobe.t_start >= self.rest_votes_from
                      and abs(lobe.area) >= self.vote_min)
        if abs(lobe.area) < self.area_min:
            if first_move and abs(lobe.area) >= T_AREA_ON_DEG:
                # Too small to pair, still most likely a lift: but only a weak say. Before the
                # axis is learned a slow leg press's 1.2 deg lift reads 0.5 deg along the one
                # held, and V cannot see a slide at 70 deg from vertical: nothing else may ever
                # say which way a lift turns, and the set's lowerings pair with the next lifts.
                self.vote(lobe.sign, SMALL_LIFT_VOTE)
            return None
        if not self.fixed_sign and abs(lobe.area) <= self.vote_max:
            # (strides and sit-downs say nothing about reps)
            if first_move:
                self.vote(lobe.sign)
            if lobe.end_shock >= SHOCK_STRIKE_G:
                # A movement that ends in a heel strike was a lowering.
                self.vote(-lobe.sign)
        p = self.pending
        if self.top_mode:
            if lobe.sign == self.lift_sign:
                self.pending = lobe if self._may_lift(lobe) else None
            elif p is not None and lobe.t_start - p.t_end <= HOLD_MAX_S + _STEP_EPS_S:
                self.pending = None
                return p, lobe
            return None
        if (p is not None and lobe.sign == -p.sign and lobe.t_start - p.t_end <= HOLD_MAX_S + _STEP_EPS_S
                and (self.lift_sign == 0 or p.sign == self.lift_sign)):
            r = abs(lobe.area) / abs(p.area)
            a = self.alt
            if (r > TILT_ONLY_RATIO_MAX and a is not None and a.t_end == p.t_end
                    and 1.0 / TILT_ONLY_RATIO_MAX <= abs(lobe.area) / abs(a.area) <= TILT_ONLY_RATIO_MAX):
                # Turning back far more than the lift waiting for it: that "lift" was the heel
                # rising more in the hold, and the lowering returns the whole lift.
                p, r = a, abs(lobe.area) / abs(a.area)
            if 1.0 / TILT_ONLY_RATIO_MAX <= r <= AREA_RATIO_MAX:
                self.pending = self.alt = None
                self.paired = lobe
                return p, lobe
            if r < 1.0 / TILT_ONLY_RATIO_MAX:
                return None  # a wobble while the heel is up: still waiting for the lowering
        if (p is not None and lobe.sign == p.sign == self.lift_sign
                and lobe.t_start - p.t_end <= HOLD_MAX_S + _STEP_EPS_S
                and abs(lobe.area) * TILT_ONLY_RATIO_MAX < abs(p.area)):
            return None  # the heel rising a little more in a held top: still the same lift
        # A lift that replaces the one waiting (too big to be its re-rise) may yet be part of
        # it: keep the two, with what the leg turned between them, as one lift in reserve.
        self.alt = None
        if (p is not None and lobe.sign == p.sign == self.lift_sign
                and lobe.t_start - p.t_end <= HOLD_MAX_S + _STEP_EPS_S):
            self.alt = _joined(p, lobe, p.area + self.between)
        self.between = 0.0
        self.pending = (lobe if (self.lift_sign == 0 or lobe.sign == self.lift_sign)
                        and self._may_lift(lobe) else None)
        return None


class _Candidate:
    """A rep one channel has seen, on its way to being counted and reported."""

    __slots__ = ("ch", "start", "top", "end", "lobe_end", "t", "size", "top_size", "lift_s", "lower_s",
                 "hold_s", "rom_deg", "bounce", "lift_cms", "seen", "report_at", "down", "extended", "top_end",
                 "counted", "tempo_s", "lower_cms", "bounce_g", "blind", "braked", "travel_cm")

    def __init__(self, ch: str, up: _Lobe, dn: _Lobe, t: float, lift_s: float, lower_s: float, rom_deg: float):
        self.ch = ch
        self.start = up.t_start
        self.top = 0.5 * (up.t_end + dn.t_start)
        self.end = self.lobe_end = self.top_end = dn.t_end  # (top_end: V's top lobe, kept)
        self.t = t
        self.size = abs(up.area)
        self.top_size = abs(dn.area)
        self.lift_s = lift_s
        self.lower_s = lower_s
        # The phases reported (and judged too fast) from each lobe's integral of speed squared:
        # a low tail (V's leaky speed settling from the last landing into the next lift) adds
        # its level squared, not its level, so it barely lengthens them.
        self.tempo_s = (_mj_duration(up), _mj_duration(dn))
        self.hold_s = max(0.0, dn.t_start - up.t_end)
        self.rom_deg = rom_deg
        self.bounce = False
        self.lift_cms = max(up.lift_cms, dn.lift_cms)
        # Peak vertical speed of the lowering, cm/s: V's own lobe, or the most V read under
        # the tilt's lobes (V lags the tilt, and a fast lowering's peak can fall after its lobe).
        self.lower_cms = dn.peak if ch == "V" else self.lift_cms
        self.bounce_g = SHOCK_BOUNCE_G  # the impact that marks its landing a bounce (set when counted)
        self.seen = {ch}
        self.report_at = 0.0
        self.extended = False  # (V only) its lowering came after a long hold
        self.counted = False
        self.blind = False  # (V only) V could not see the lift: the foot turned too far, or V's rest was unknown
        self.braked = -math.inf  # (V only) when V was last seen rising as the heel braked after it
        # Heel-down estimate: a min-jerk lowering ends half its duration after its centre.
        # A slow settle keeps the lobe open well after that.
        self.down = dn.moment / dn.area + 0.5 * lower_s if ch == "T" else math.inf
        # How far the sensor rose in the lift and came down in the lowering (cm; tilt only).
        self.travel_cm = _travel_cm(up) - _travel_cm(dn) if ch == "T" else math.nan

    @property
    def tilt_timed(self) -> bool:
        """Its phases come from tilt lobes (its own, or the tilt's after a retime): only those
        give a heel-down time."""
        return self.down < math.inf

    def same_rep(self, other: _Candidate) -> bool:
        """One rep when the intervals overlap by half the shorter one (a rep reaches its landing
        when that was seen after its lobes ended: V's top lobe can end in the hold)."""
        return _one_movement(self.start, max(self.lobe_end, self.end), other.start, max(other.lobe_end, other.end))


def _one_movement(s0: float, e0: float, s1: float, e1: float) -> bool:
    """The intervals s0-e0 and s1-e1 (s) overlap by half the shorter one: the scorer's rule
    for one movement (an interval of -inf is never one)."""
    return min(e0, e1) - max(s0, s1) >= 0.5 * min(e0 - s0, e1 - s1)


def _travel_cm(lobe: _Lobe) -> float:
    """How far the sensor rose (cm) from a tilt lobe's start to its end, both taken as moments
    the leg stood still: the double integral of the vertical acceleration, less the speed that
    integral gained, spread evenly over the lobe. A constant error in the acceleration (the
    chip's bias and scale along g) grows the speed linearly, which that removes exactly."""
    (u_a, p_a, t_a), (u_b, p_b, t_b) = lobe.at_start, lobe.at_end
    return (p_b - p_a) - 0.5 * (u_a + u_b) * (t_b - t_a)


def _median(values: list[float]) -> float:
    """The median (the upper one of an even count) of the last few values, 0 under two."""
    return sorted(values)[len(values) // 2] if len(values) >= 2 else 0.0


def _within(x: float, y: float, k: float) -> bool:
    """``x`` is within a factor ``k`` of ``y``."""
    return y / k <= x <= y * k


def _swing(c: _Candidate) -> float:
    """The larger of a tilt rep's two lobes (a stride swings back further than it lifted)."""
    return max(c.size, c.top_size) if c.ch == "T" else c.size


def _turns_back(c: _Candidate, k: float) -> bool:
    """``c``'s top lobe turns back within a factor ``k`` of its lift."""
    return _within(c.top_size, c.size, k)


def _alike(a: _Candidate, b: _Candidate, size_ratio: float, tempo_ratio: float, swing: bool = False) -> bool:
    """Two reps whose sizes (or with ``swing``, their larger lobes) are within ``size_ratio``
    of each other, and lifts and lowerings within ``tempo_ratio``."""
    sa, sb = (_swing(a), _swing(b)) if swing else (a.size, b.size)
    return (_within(sa, sb, size_ratio) and _within(a.lift_s, b.lift_s, tempo_ratio)
            and _within(a.lower_s, b.lower_s, tempo_ratio))


def _level(x: float, y: float, z: float, g: tuple[float, float, float]) -> tuple[float, float, float]:
    """(x, y, z) less its part along the unit vector ``g`` (zero: unchanged)."""
    gx, gy, gz = g
    k = x * gx + y * gy + z * gz
    return x - k * gx, y - k * gy, z - k * gz


def _big_pair(p: _Candidate, c: _Candidate) -> bool:
    """``c`` follows the big tilt rep ``p`` as the second of two alike (by their larger lobes: a
    first lift can read short), the leg resting between them (a stride's tilts follow each
    other without a pause)."""
    return (BIG_GAP_S - _STEP_EPS_S <= c.start - p.lobe_end <= SET_GAP_S + _STEP_EPS_S
            and _alike(c, p, 1.0 / BIG_ALIKE, BIG_TEMPO, swing=True))


def _half_within(lobe: _Lobe, t0: float, t1: float) -> bool:
    """At least half of ``lobe`` lies between ``t0`` and ``t1`` (s)."""
    return min(lobe.t_end, t1) - max(lobe.t_start, t0) >= 0.5 * (lobe.t_end - lobe.t_start)


def _mj_duration(lobe: _Lobe) -> float:
    """A lobe's duration (s) as a min-jerk move's: its speed profile squared integrates to
    MJ_ENERGY x peak^2 x duration."""
    return lobe.energy / (MJ_ENERGY * lobe.peak * lobe.peak)


def _one_move(lobe: _Lobe) -> bool:
    """A lobe shaped like one movement of a phase: no slower than MAX_PHASE_S, and spanning at
    most ONE_MOVE_SPAN times that (a gyro offset not yet learned adds a turn of 1-5 deg/s
    that runs on for seconds, alone or joined to a rep's)."""
    d = _mj_duration(lobe)
    return d <= MAX_PHASE_S and lobe.t_end - lobe.t_start <= ONE_MOVE_SPAN * d


def _unleak(speed_cms: float, phase_s: float) -> float:
    """The peak of V's leaky speed during a min-jerk move of ``phase_s`` seconds, back to the
    move's own peak: the leak takes 1 - 1/(1 + 0.27 T/tau) of it (0.79 of the peak is left at
    T = tau, 0.48 at T = 4 tau)."""
    return speed_cms * (1.0 + LEAK_SPREAD * phase_s / TAU_VERT_S)


def _unblur(phase_s: float, blur_s2: float) -> float:
    """A phase duration (s) read from a smoothed lobe, less the smoothing's widening (at most
    halved: a phase shorter than the smoothing is not resolved)."""
    return math.sqrt(max(phase_s * phase_s - blur_s2, 0.25 * phase_s * phase_s))


def _fast_gains(dt: float) -> tuple[float, ...]:
    """Per-sample filter gains: 1 - exp(-dt/tau) for followers, exp(-dt/tau) for leaks."""
    return (1.0 - math.exp(-dt / TAU_LP_S), 1.0 - math.exp(-dt / TAU_GYRO_S), math.exp(-dt / TAU_SHOCK_S),
            math.exp(-dt / TAU_IMPACT_S), 1.0 - math.exp(-dt / TAU_REST_G_S), math.exp(-dt / TAU_VERT_S),
            1.0 - math.exp(-dt / TAU_NOISE_S),
            SHOCK_STOP_G * min(1.0, math.exp((STOP_SET_AT_S - dt) / TAU_LP_S)))


def _slow_gains(dt: float) -> tuple[float, ...]:
    """Gains of the slow estimators (stillness, axis, plotted tilt), run every ``SLOW_STEP_S``."""
    return (1.0 - math.exp(-dt / TAU_STILL_S), math.exp(-dt / TAU_ANGLE_S), math.exp(-dt / DISPLAY_TAU_S))


class RepDetector:
    """Streaming rep detector. ``update`` takes one sample and returns a rep when one is
    reported (at most one per sample; a second waits for the next sample).

    ``signal`` is the tilt excursion in degrees (for the live plot); ``phase`` is "idle",
    "up" (a lift under way) or "settling" (counted, waiting for the heel to land).
    """

    def __init__(self, config: CounterConfig):
        self.too_fast_s = config.too_fast_s
        self._dt_key = -1.0
        self._dt_avg = 0.0  # mean sample interval, s (0: not yet known)
        self._h = 1         # the impact stencil's half-width in samples
        self._k = _fast_gains(0.01)
        self._slow_cache: dict[float, tuple[float, ...]] = {}
        self._axis_dt = 0.0
        # Learned about the chip and the leg: kept across gaps.
        self._bias = (0.0, 0.0, 0.0)
        self._still_s = 0.0
        self._cov = (1e-6, 0.0, 0.0, 1e-6, 0.0, 1e-6)  # xx xy xz yy yz zz of the angle
        self._axis = (1.0, 0.0, 0.0)
        self._abias = (0.0, 0.0, 0.0)  # accelerometer bias (g), the part the leg's turns reveal
        self._fit = [0.0] * 9           # its normal equations: A (xx xy xz yy yz zz), A b
        self._corr_g = 0.0              # the bias's share of |a| in the present posture, g
        self._t_across = -math.inf      # when the leg last accelerated along the floor (a step)
        self.T = _Pairer(T_ON_DPS, T_ON_NOISE, T_END_FRACTION, T_MIN_DEG, top_mode=False,
                         vote_max=ALONE_MAX_DEG, area_on=T_AREA_ON_DEG, late_fraction=T_LATE_FRACTION)
        self.V = _Pairer(V_ON_CMS, V_ON_NOISE, V_END_FRACTION, V_MIN_CM, top_mode=True, lift_sign=1)
        self._recent: dict[str, list[float]] = {"T": [], "V": []}
        self._typical: dict[str, float] = {"T": 0.0, "V": 0.0}
        self._zupt = (0.0, 0.0, 0.0)  # integrals of the vertical acceleration (cm/s, cm) and their clock (s)
        self._travels: list[float] = []  # the last tilt reps' travel (cm)
        self._last: _Candidate | None = None     # the last rep counted
        self._held: _Candidate | None = None     # seen by one channel, waiting for the other
        self._big: _Candidate | None = None      # the last big tilt rep nothing confirmed
        self._slow_run: list[_Candidate] = []    # the last slow small tilt reps, alike (SLOW_RUN at most)
        self._swung = (-math.inf, -math.inf)     # the last leg swing the tilt channel refused
        self._refused: _Candidate | None = None  # the last rep-shaped candidate refused alone
        # A V rep refused alone while the tilt's lift under its rise waits for its lowering.
        self._v_awaiting: tuple[_Candidate, _Lobe] | None = None
        self._landing: _Candidate | None = None  # counted, not reported until the heel is down
        self._reported = (-math.inf, -math.inf)  # the last rep reported: start, end (s)
        self._out: list[DetectedRep] = []
        self._t_impact = -math.inf
        self._t_started = -math.inf  # the first sample's time, or the first after a gap
        self._impact_g = 0.0  # the largest spike of the last impact
        self.signal = 0.0
        self.reset()

    def reset(self) -> None:
        """Forget the motion state (after a gap or a fault); what was learned is kept."""
        self._t_prev: float | None = None
        self._lp = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)    # two cascaded low-passes of the accelerometer
        self._rate = self._bias                       # low-passed gyro
        self._still = self._bias + (0.0, 0.0, 0.0)    # quarter-second averages of rate and accel
        self._angle = (0.0, 0.0, 0.0)
        self._slow_dt = 0.0
        self._t_moved = 0.0
        self._shock = 0.0
        self._impact = 0.0
        self._ring: list[Sample] = []
        self._ring_i = 0
        self._vert = (1.0, 0.0, 0.0, -math.inf)       # rest |a|, speed, when |a| was last near rest, last strike
        self._gdir = (0.0, 0.0, 0.0)                  # gravity's direction in the sensor frame (0: not yet)
        self._move = [0.0] * 5                        # since the leg was last still: int |a| - rest, int g - g0, s
        self._rest = (1.0, 0.0, 0.0, 0.0, 0.0)        # mean |a| and g over the last stillness, samples
        self._grav_dt = 0.0
        self.signal = 0.0

    def flush(self) -> list[DetectedRep]:
        """The recording or the set ends: a rep counted but still waiting for its landing, or
        seen by one channel and waiting for the other, is decided now rather than lost (or
        left for the next set)."""
        t = self._t_prev
        if t is not None:
            if self._landing is not None:
                self._report(t)
            self._expire(t, force=True)
            if self._landing is not None:
                self._report(t)
        out, self._out = self._out, []
        return out

    def gap(self, t_s: float, duration_s: float) -> None:
        """Samples were lost: a half-seen movement is dropped, never counted twice."""
        self.reset()

    def update(self, s: Sample) -> DetectedRep | None:
        t, ax, ay, az, gx, gy, gz = s
        tp = self._t_prev
        self._t_prev = t
        dt = t - tp if tp is not None else 0.0
        if not 0.0 < dt <= MAX_GAP_S:
            self._restart_at(s)
            self._settle(t)
            return self._out.pop(0) if self._out else None
        da = self._dt_avg
        da = da + DT_AVG_K * (dt - da) if da > 0.0 else dt
        self._dt_avg = da
        if not -5e-7 < dt - self._dt_key < 5e-7:
            # Sensor-clocked samples share one interval: compute the gains once per interval.
            self._dt_key = dt
            self._k = _fast_gains(dt)
            # The impact stencil reaches at least IMPACT_STENCIL_S each way at the mean
            # interval: rounded, it read 8 ms at 120 Hz and missed bounces a 21 Hz low-pass had
            # spread (recall 0.72); and from one interval, a jittered clock resized it.
            self._h = max(1, math.ceil(IMPACT_STENCIL_S / da - 0.05))
        k_lp, k_gyro, d_shock, d_impact, k_rest, d_vert, k_noise, stop_g = self._k
        h = self._h

        # Accelerometer: low-pass, shock envelope (3 Hz high-pass), |a|.
        x1, y1, z1, x2, y2, z2 = self._lp
        x1 += k_lp * (ax - x1); y1 += k_lp * (ay - y1); z1 += k_lp * (az - z1)
        x2 += k_lp * (x1 - x2); y2 += k_lp * (y1 - y2); z2 += k_lp * (z1 - z2)
        self._lp = (x1, y1, z1, x2, y2, z2)
        hx, hy, hz = ax - x1, ay - y1, az - z1
        shock = math.sqrt(hx * hx + hy * hy + hz * hz)
        decayed = self._shock * d_shock
        if decayed > shock:
            shock = decayed
        self._shock = shock
        a_g = math.sqrt(x2 * x2 + y2 * y2 + z2 * z2)
        mag_g = a_g - self._corr_g

        # Impact: how far a sample stands out from its neighbours IMPACT_STENCIL_S either side
        # (seen that much later). A heel strike is a spike; the leg's own motion is smooth.
        ring = self._ring
        n = 2 * h + 1
        imp = self._impact * d_impact
        if len(ring) != n:
            ring.append(s)
            if len(ring) > n:
                del ring[:len(ring) - n]
            self._ring_i = 0
        else:
            i = self._ring_i
            ring[i] = s
            i = self._ring_i = (i + 1) % n
            o, m, e = ring[i], ring[(i + h) % n], s
            ix = m[1] - 0.5 * (o[1] + e[1])
            iy = m[2] - 0.5 * (o[2] + e[2])
            iz = m[3] - 0.5 * (o[3] + e[3])
            spike = math.sqrt(ix * ix + iy * iy + iz * iz)
            if spike > imp:
                imp = spike
            if spike >= SHOCK_BOUNCE_G:
                # Spikes this close are one landing ringing; its largest is what the landing
                # test (which looks back as far) compares.
                if m[0] - self._t_impact > IMPACT_BEFORE_S + _STEP_EPS_S:
                    self._impact_g = spike
                elif spike > self._impact_g:
                    self._impact_g = spike
                self._t_impact = m[0]
        self._impact = imp

        # Gyro, less the bias, and the tilt rate along the rep axis.
        rx, ry, rz = self._rate
        rx += k_gyro * (gx - rx); ry += k_gyro * (gy - ry); rz += k_gyro * (gz - rz)
        self._rate = (rx, ry, rz)
        bx, by, bz = self._bias
        wx, wy, wz = rx - bx, ry - by, rz - bz
        ux, uy, uz = self._axis
        w = wx * ux + wy * uy + wz * uz

        # Vertical speed from |a|: zero while a heel strike rings, rest level from the quiet
        # leg, a lasting offset (new posture, the bias projects differently) restarts it. A
        # heel lifted 7 cm in 0.25 s accelerates at up to 0.66 g, past the strike level: only a shock
        # with an impact spike stops the leg, else such a rep's V was zeroed all through it.
        rest_g, v, t_rest_ok, t_stop = self._vert
        if shock > stop_g and imp >= STOP_SPIKE_G:
            if v > 0.0 and t - t_stop >= STOP_HOLD_S - _STEP_EPS_S and self._landing is not None:
                # The heel strike a counted rep was waiting for stops a leg coming down, never
                # one going up: speed still rising then is the rest level's error (a leaky
                # integral of it settles at error x TAU_VERT_S).
                rest_g += v / (980.665 * TAU_VERT_S)
            t_stop = t
        if t - t_stop < STOP_HOLD_S - _STEP_EPS_S:
            v = 0.0
        else:
            dm = mag_g - rest_g
            if -REST_BAND_G < dm < REST_BAND_G:
                since = t - self._t_started
                if since < TAU_REST_G_S - _STEP_EPS_S:
                    # The level started from the first reading (noise alone puts that 5-10 mg
                    # off, read as cm/s of speed for seconds): until the follower's memory is
                    # that long, the mean of the readings since then is the better estimate.
                    rest_g += dt / since * dm
                else:
                    rest_g += k_rest * dm
                t_rest_ok = t
            elif t - t_rest_ok > REST_SNAP_S + _STEP_EPS_S:
                rest_g = mag_g
                v = 0.0
                t_rest_ok = t
                dm = 0.0
            v = v * d_vert + dm * 980.665 * dt
        self._vert = (rest_g, v, t_rest_ok, t_stop)

        self._slow_dt += dt
        if self._slow_dt >= SLOW_STEP_S - _STEP_EPS_S:
            self._slow(t, wx, wy, wz, w, x2, y2, z2, a_g, shock)

        if self._landing is not None or self._held is not None:
            self._settle(t)
        # The vertical acceleration's integrals on their own clock (elapsed sample time: a Unix
        # clock's 1.7e9 s would cost the differences their precision).
        zu, zp, zt = self._zupt
        zu += (mag_g - 1.0) * 980.665 * dt
        zp += zu * dt
        self._zupt = (zu, zp, zt + dt)
        lobe = self.T.lobes.update(t, w, dt, k_noise, shock, v if v >= 0.0 else -v, self._zupt)
        if lobe is not None:
            pair = self.T.feed(lobe)
            if pair is not None:
                self._candidate(t, pair, "T")
        lobe = self.V.lobes.update(t, v, dt, k_noise, shock)
        if lobe is not None:
            c = self._landing
            if c is not None and lobe.sign == -1 and self._lowering_of(c, lobe.t_start, lobe.area):
                c.lobe_end = t
                c.extended = True
                c.end = t + _v_landing_after_s(c.lower_s)
                self._expect_landing(c)
            pair = self.V.feed(lobe)
            if pair is not None:
                self._candidate(t, pair, "V")
        return self._out.pop(0) if self._out else None

    @property
    def gyro_bias_dps(self) -> tuple[float, float, float]:
        """The gyro offset learned so far (deg/s, sensor axes)."""
        return self._bias

    @property
    def rep_axis(self) -> tuple[float, float, float]:
        """The axis the leg turns about in a rep, as learned so far (unit vector, sensor axes)."""
        return self._axis

    @property
    def typical_travel_cm(self) -> float:
        """How far the session's last tilt reps moved the sensor, up in the lift and back down
        in the lowering together (cm; their median, 0 until two are known)."""
        return _median(self._travels)

    @property
    def accel_bias_g(self) -> tuple[float, float, float]:
        """The accelerometer bias learned so far (g, sensor axes): only its part along the
        directions the leg has turned through between rests, the part that matters."""
        return self._abias

    @property
    def vertical_speed_cms(self) -> float:
        """The leg's vertical speed as the vertical channel reads it (cm/s, up positive; leaky,
        zero while a heel strike rings)."""
        return self._vert[1]

    @property
    def phase(self) -> str:
        """"settling" (counted, waiting for the heel to land), "up" (a lift under way) or "idle"."""
        if self._landing is not None:
            return "settling"
        if self.T.lobes.sign == self.T.lift_sign != 0 or self.V.lobes.sign == 1:
            return "up"
        return "idle"

    def _slow(self, t: float, wx: float, wy: float, wz: float, w: float,
              x2: float, y2: float, z2: float, a_g: float, shock: float) -> None:
        """Gyro bias, rep axis and the plotted tilt: they change over seconds, so they are
        updated every SLOW_STEP_S of sample time rather than every sample (at 25 Hz and
        below: every sample). ``a_g`` is |(x2, y2, z2)|."""
        dt = self._slow_dt
        self._slow_dt = 0.0
        try:
            ks = self._slow_cache[dt]
        except KeyError:
            # Sample intervals add up to a handful of distinct steps (two or three at a fixed
            # rate), so the exponentials are computed once per step length.
            if len(self._slow_cache) > 64:
                self._slow_cache.clear()
            ks = self._slow_cache[dt] = _slow_gains(dt)
        k_still, d_angle, d_display = ks
        self.signal = self.signal * d_display + w * dt

        # The bias is learned while rate and acceleration both stay near their quarter-second
        # averages (a slow lowering changes the tilt, so it is not stillness).
        rx, ry, rz = self._rate
        sx, sy, sz, qx, qy, qz = self._still
        sx += k_still * (rx - sx); sy += k_still * (ry - sy); sz += k_still * (rz - sz)
        qx += k_still * (x2 - qx); qy += k_still * (y2 - qy); qz += k_still * (z2 - qz)
        self._still = (sx, sy, sz, qx, qy, qz)
        ex, ey, ez = rx - sx, ry - sy, rz - sz
        if shock > 0.05 or ex * ex + ey * ey + ez * ez > _STILL_DPS2:
            self._t_moved = t
        else:
            ex, ey, ez = x2 - qx, y2 - qy, z2 - qz
            if ex * ex + ey * ey + ez * ez > _STILL_G2:
                self._t_moved = t
        still = t - self._t_moved > STILL_FOR_S + _STEP_EPS_S
        if still:
            self._still_s += dt
            if self._still_s >= BIAS_KNOWN_S - _STEP_EPS_S and self.T.rest_votes_from == math.inf:
                # Until then the tilt channel's first "movement" is the chip's gyro offset, which
                # says nothing about which way a lift turns.
                self.T.rest_votes_from = t
                # And V started from the first sample's |a|, which may have been taken with the
                # strap still moving: the leg is at rest now, so V's speed is zero and the
                # quarter-second mean |a| is its rest.
                t_stop = self._vert[3]
                self._vert = (math.sqrt(qx * qx + qy * qy + qz * qz) - self._corr_g, 0.0, t, t_stop)
            # A memory that grows with the stillness seen: short at first (the session's first
            # rep needs the offset), long once known, so that a leg press turning under 1 deg/s
            # (slow and smooth, so it reads as still) is not learned as offset. With a 4 s
            # memory a synthetic 1.2 deg rep read 1.58 deg up and 0.81 deg down.
            kb = 1.0 - math.exp(-dt / min(TAU_BIAS_S, max(TAU_BIAS_FAST_S, BIAS_MEMORY_SHARE * self._still_s)))
            bx, by, bz = self._bias
            self._bias = (bx + kb * (rx - bx), by + kb * (ry - by), bz + kb * (rz - bz))

        # Rep axis: principal direction of the recent rotation angle (power iteration).
        px, py, pz = self._angle
        px = px * d_angle + wx * dt; py = py * d_angle + wy * dt; pz = pz * d_angle + wz * dt
        self._angle = (px, py, pz)
        self._grav_dt += dt
        if self._grav_dt >= GRAVITY_STEP_S - _STEP_EPS_S:
            self._gravity(t, wx, wy, wz, x2, y2, z2, a_g, still)
        self._axis_dt += dt
        if self._axis_dt < AXIS_STEP_S - _STEP_EPS_S:
            return
        level = self._still_s < BIAS_KNOWN_S - _STEP_EPS_S
        if level:
            # Until the leg has kept still, gravity has shown only the gyro offset's part across
            # it: the part along it, a few deg/s about the vertical, adds up to tens of degrees
            # and would own the axis. Every calf raise turns the leg about a level axis.
            px, py, pz = _level(px, py, pz, self._gdir)
        pn2 = px * px + py * py + pz * pz
        if pn2 > _ANGLE_CLIP_DEG2:
            q = ANGLE_CLIP_DEG / math.sqrt(pn2)  # a sit-down or a stride must not own the axis
            px, py, pz = px * q, py * q, pz * q
        # The axis has a 20 s memory: the covariance of the clipped angle is sampled and the
        # power iteration stepped every AXIS_STEP_S, which is plenty and costs a fifth.
        k_axis = 1.0 - math.exp(-self._axis_dt / TAU_AXIS_S)
        self._axis_dt = 0.0
        cxx, cxy, cxz, cyy, cyz, czz = self._cov
        cxx += k_axis * (px * px - cxx); cxy += k_axis * (px * py - cxy); cxz += k_axis * (px * pz - cxz)
        cyy += k_axis * (py * py - cyy); cyz += k_axis * (py * pz - cyz); czz += k_axis * (pz * pz - czz)
        self._cov = (cxx, cxy, cxz, cyy, cyz, czz)
        ux, uy, uz = self._axis
        nx = cxx * ux + cxy * uy + cxz * uz
        ny = cxy * ux + cyy * uy + cyz * uz
        nz = cxz * ux + cyz * uy + czz * uz
        if level:
            nx, ny, nz = _level(nx, ny, nz, self._gdir)
        nn = math.sqrt(nx * nx + ny * ny + nz * nz)
        if nn > 0.0:
            ux, uy, uz = nx / nn, ny / nn, nz / nn
            self._axis = (ux, uy, uz)

    def _gravity(self, t: float, wx: float, wy: float, wz: float, x2: float, y2: float, z2: float,
                 mag: float, still: bool) -> None:
        """Gravity's direction g in the sensor frame, turned by the smoothed gyro rate (deg/s,
        less its bias: the leg turns smoothly, so one reading per step will do) and pulled
        slowly to the accelerometer's (``x2, y2, z2``, g; ``mag`` is its length): the acceleration
        across it marks a step, and rest-to-rest moves teach the accelerometer bias. Run every
        GRAVITY_STEP_S.

        |a| = 1 + a_vert + b.g to first order, so a bias b reads as vertical acceleration
        whenever the leg turns: 45 deg of foot pitch on the instep turns a 27 mg bias into
        ~15 mg, which V integrates into a false rise. Between two moments the leg is at rest its
        vertical speed is zero both times, so the integral of |a| less its value at the first
        rest is b . (the integral of g - g0): one linear equation in b per move. Only the
        directions the leg turns through are learned, and only those change b.g."""
        dt = self._grav_dt
        self._grav_dt = 0.0
        bx, by, bz = self._abias
        nx, ny, nz = x2 - bx, y2 - by, z2 - bz
        nn = math.sqrt(nx * nx + ny * ny + nz * nz)
        if nn == 0.0:
            return
        gx, gy, gz = self._gdir
        if gx == gy == gz == 0.0:
            gx, gy, gz = nx / nn, ny / nn, nz / nn
            self._gdir = (gx, gy, gz)
        else:
            # dg/dt = -w x g in the sensor frame. The rate is read once a step, so g is turned
            # half a step ahead of the mean; the accelerometer's two low-passes lag more than
            # the gyro's one: g as the accelerometer sees it is turned back by both.
            r = dt * _RAD
            ax, ay, az = wx * r, wy * r, wz * r
            cx, cy, cz = ay * gz - az * gy, az * gx - ax * gz, ax * gy - ay * gx
            k = dt / TAU_GDIR_S
            gx += k * (nx / nn - gx) - cx
            gy += k * (ny / nn - gy) - cy
            gz += k * (nz / nn - gz) - cz
            gn = math.sqrt(gx * gx + gy * gy + gz * gz)
            gx, gy, gz = gx / gn, gy / gn, gz / gn
            self._gdir = (gx, gy, gz)
            q = (LAG_S + 0.5 * dt) / dt
            gx += q * cx; gy += q * cy; gz += q * cz
            gn = math.sqrt(gx * gx + gy * gy + gz * gz)
            gx, gy, gz = gx / gn, gy / gn, gz / gn
            if self._still_s < BIAS_KNOWN_S - _STEP_EPS_S and not still and abs(nn - 1.0) < GRAV_BIAS_BAND_G:
                self._gyro_bias_from_gravity(t, nx / nn, ny / nn, nz / nn, gx, gy, gz, dt)
        along = nx * gx + ny * gy + nz * gz
        if nn * nn - along * along > _STEP_ACROSS_G2:
            self._t_across = t  # a heel raise moves the leg up; a step carries it along the floor

        mv = self._move
        m0, g0x, g0y, g0z, n0 = self._rest
        if still:
            if mv[4] > 0.0:
                # At rest again after a move: one more equation, and a new rest to start from.
                if mv[4] <= FIT_MAX_S + _STEP_EPS_S and self._t_across < t - mv[4]:
                    self._solve(mv[0], mv[1], mv[2], mv[3])  # (a step is no heel raise)
                mv[:] = [0.0] * 5
                n0 = 0.0
            # Averaged over the stillness: one sample's noise, integrated over a whole move,
            # would swamp the bias.
            n0 += 1.0
            k = 1.0 / n0
            self._rest = (m0 + k * (mag - m0), g0x + k * (gx - g0x), g0y + k * (gy - g0y), g0z + k * (gz - g0z), n0)
        elif n0 > 0.0:  # (nothing to start from before the leg has been still)
            mv[0] += (mag - m0) * dt
            mv[1] += (gx - g0x) * dt
            mv[2] += (gy - g0y) * dt
            mv[3] += (gz - g0z) * dt
            mv[4] += dt
        bx, by, bz = self._abias
        self._corr_g = bx * gx + by * gy + bz * gz

    def _gyro_bias_from_gravity(self, t: float, ux: float, uy: float, uz: float,
                                gx: float, gy: float, gz: float, dt: float) -> None:
        """Learn the gyro offset from gravity before the leg has been still (a standing user
        sways, and until then the whole offset, 2-5 deg/s, reads as tilt). An offset error d turns
        the gyro's g away from the accelerometer's ``u`` at d x g: the pull on g holds the
        angle between them at ~d TAU_GDIR_S, and u x g, fed back, takes d off the offset with
        time constant TAU_GRAV_BIAS_S. Only d across gravity shows, which is the part that
        matters: a calf raise turns the leg about a level axis. Not while stepping (the
        accelerometer points along the step, not gravity)."""
        if t - self._t_across < GRAV_BIAS_STEP_S - _STEP_EPS_S:
            return
        ex, ey, ez = uy * gz - uz * gy, uz * gx - ux * gz, ux * gy - uy * gx  # (rad)
        k = dt / (_RAD * TAU_GDIR_S * TAU_GRAV_BIAS_S)
        bx, by, bz = self._bias
        self._bias = (bx - k * ex, by - k * ey, bz - k * ez)

    def _solve(self, y: float, zx: float, zy: float, zz: float) -> None:
        """Add the move's equation y = b . z (g s, s) and solve the ridge-regularised normal
        equations for the accelerometer bias b (g)."""
        f = self._fit
        m = FIT_MEMORY
        f[0] = m * f[0] + zx * zx; f[1] = m * f[1] + zx * zy; f[2] = m * f[2] + zx * zz
        f[3] = m * f[3] + zy * zy; f[4] = m * f[4] + zy * zz; f[5] = m * f[5] + zz * zz
        f[6] = m * f[6] + y * zx; f[7] = m * f[7] + y * zy; f[8] = m * f[8] + y * zz
        a, b, c = f[0] + FIT_RIDGE_S2, f[1], f[2]
        d, e, g = f[3] + FIT_RIDGE_S2, f[4], f[5] + FIT_RIDGE_S2
        # Symmetric 3x3 by cofactors (positive definite: the ridge is on the diagonal).
        c00, c01, c02 = d * g - e * e, c * e - b * g, b * e - c * d
        c11, c12, c22 = a * g - c * c, b * c - a * e, a * d - b * b
        det = a * c00 + b * c01 + c * c02
        r0, r1, r2 = f[6], f[7], f[8]
        bx = (c00 * r0 + c01 * r1 + c02 * r2) / det
        by = (c01 * r0 + c11 * r1 + c12 * r2) / det
        bz = (c02 * r0 + c12 * r1 + c22 * r2) / det
        if bx * bx + by * by + bz * bz > FIT_MAX_G * FIT_MAX_G:
            return
        # |a| less the bias's share steps by this much now: the rest level steps with it, so
        # the vertical speed does not.
        gx, gy, gz = self._gdir
        ox, oy, oz = self._abias
        rest_g, v, t_ok, t_stop = self._vert
        self._vert = (rest_g - ((bx - ox) * gx + (by - oy) * gy + (bz - oz) * gz), v, t_ok, t_stop)
        self._abias = (bx, by, bz)

    def _restart_at(self, s: Sample) -> None:
        """First sample, or the first after a gap: filters start from it."""
        self.reset()
        t, ax, ay, az, gx, gy, gz = s
        self._t_prev = t
        self._t_started = self.T.t_started = self.V.t_started = t
        self._lp = (ax, ay, az, ax, ay, az)
        # (Less the accelerometer bias's share, as |a| is read: after a gap it is known.)
        self._vert = (math.sqrt(ax * ax + ay * ay + az * az) - self._corr_g, 0.0, t, -math.inf)
        self._t_moved = t  # (the leg is not known to be still until it has been for a while)
        if self._still_s == 0.0:
            self._rate = (gx, gy, gz)
        self._still = self._rate + (ax, ay, az)

    def _candidate(self, t: float, pair: tuple[_Lobe, _Lobe], ch: str) -> None:
        up, dn = pair
        if up.mid_shock > SHOCK_WALK_G or dn.mid_shock > SHOCK_WALK_G:
            return  # a heel strike in the middle of the movement: a step
        if self._t_across >= up.t_start:
            return  # the leg was carried along the floor: a step
        # Min-jerk: a move of size A over T seconds peaks at 1.875 A / T.
        lift_s = 1.875 * abs(up.area) / up.peak
        lower_s = 1.875 * abs(dn.area) / dn.peak
        longest = MAX_PHASE_S if ch == "T" else MAX_V_PHASE_S
        if not (MIN_PHASE_S <= lift_s <= longest and MIN_PHASE_S <= lower_s <= longest
                and lift_s + lower_s >= MIN_REP_S):
            return
        if ch == "T":
            if not 1.0 / TEMPO_RATIO_MAX <= lift_s / lower_s <= TEMPO_RATIO_MAX:
                return  # a heel rises and comes down at similar speeds; a step swings, then rolls
            c = _Candidate(ch, up, dn, t, lift_s, lower_s, abs(up.area))
            if self._t_impact >= up.t_start - EDGE_S:
                # A heel strike since the lift began: its shock clips and the low-pass smears
                # it, and a bounce leaves no still moment at the bottom. The travel is unknown.
                c.travel_cm = math.nan
            elif self._goes_nowhere(c):
                return
            turn_rad_s = math.radians(max(up.peak, dn.peak))
            if (max(lift_s, lower_s) <= LEVER_MAX_PHASE_S
                    and _unleak(c.lift_cms, lift_s) < LEVER_MIN_CM * turn_rad_s):
                # Turned about a pivot above the sensor (a swinging leg), not about the toes:
                # what V saw of the same movement is no rep either.
                self._swung = (c.start, c.lobe_end)
                h = self._held
                if h is not None and h.ch == "V" and self._in_swing(h):
                    self._held = None
                return
            self._fuse(t, c)
            return
        # V knows up from down: the tilt lobe under V's rise is a lift.
        best, best_ov, net = None, 0.0, 0.0
        turn_max = self._turn_max_seen_by_both()
        blind = False
        for lb in self.T.recent:
            if lb.t_end > up.t_start and lb.t_start < dn.t_end and abs(lb.area) > turn_max:
                return  # the leg turned far more than in a rep: sitting down, a stride
            if (not blind and lb.t_end > up.t_start - TAU_VERT_S and lb.t_start < dn.t_end
                    and abs(lb.area) > ALONE_MAX_DEG and _one_move(lb)):
                # The foot turned far under V's view (or within its memory before it): a chip's
                # accelerometer bias turns with it and reads as vertical acceleration (27 mg
                # over a 45 deg pitch: ~15 cm/s^2, as much as the lift itself). V says nothing
                # here: no vote on the lift, no rep of its own, only a confirmation of the tilt's.
                blind = True
            ov = min(lb.t_end, up.t_end) - max(lb.t_start, up.t_start)
            if ov > 0.0:
                net += lb.area * ov / (lb.t_end - lb.t_start)  # (deg turned under the rise)
            if ov > best_ov:
                best, best_ov = lb, ov
        ll = self.T.last_lift
        rom = abs(ll.area) if ll is not None and ll.t_end > up.t_start - 0.5 and ll.t_start < dn.t_end else 0.0
        c = _Candidate(ch, up, dn, t, lift_s, lower_s, rom)
        # V's rest is the mean of its first TAU_REST_G_S of readings: a rise centred in them
        # rose on that estimate's error (through a noisy chip, a 3 cm "rep" before the set, or
        # a 1 cm one whose vote on a 0.3 deg wobble of gyro noise set the lift's sign wrong).
        c.blind = blind or up.moment / up.area < self._t_started + TAU_REST_G_S
        if self._in_swing(c):
            return
        if (not c.blind and best is not None and best_ov > 0.5 * (up.t_end - up.t_start) and self._lift_then_top(c)
                and net * best.sign > 0.0):
            # (A slow sag after a posture change has no say, nor a wobble under most of the rise
            # while the leg turned the other way over the whole of it: a single leg's sway.)
            self.T.vote(best.sign, V_VOTE)
        self._fuse(t, c)

    def _goes_nowhere(self, c: _Candidate) -> bool:
        """The session's reps lift the sensor, and the tilt pair ``c`` brought it down, or, once
        all but one of the last four or five tilt reps moved it TRAVEL_KNOWN_CM, moved it under
        TRAVEL_SHARE of the least of those: a single leg's sway or a weight shift, a lowering
        paired with the next lift, a piece of a rep. Trace 21's weight shifts after its sets
        turned the shank 2.3-2.7 deg and back and counted; on one leg a hold paired with a
        lowering travels 0-1.5 cm where the set's reps travel 4-7. V's view of the same movement
        may still count (for a lowering paired with the next lift, V sees the real rep). The
        second least, not the usual: after a walk or a new posture the same reps can read a
        third as far (leg-press trace 23's second set, 0.1-1.5 cm after 2.3-3.8), and two such
        reps stop the test; one piece of a rep that counted does not."""
        tr = sorted(self._travels)
        if len(tr) >= 4 and tr[1] >= TRAVEL_KNOWN_CM:
            return c.travel_cm < TRAVEL_SHARE * tr[1]
        return _median(tr) >= TRAVEL_KNOWN_CM and c.travel_cm < 0.0

    def _covers_reported(self, c: _Candidate) -> bool:
        """``c`` overlaps the last rep reported by half of the shorter of the two (the
        scorer's rule for one movement)."""
        a, b = self._reported
        return b > -math.inf and _one_movement(a, b, c.start, max(c.lobe_end, c.end))

    def _in_swing(self, c: _Candidate) -> bool:
        """``c`` overlaps the last refused leg swing by half of the shorter of the two."""
        a, b = self._swung
        return _one_movement(a, b, c.start, c.lobe_end)

    def _fuse(self, t: float, c: _Candidate) -> None:
        last = self._last
        if last is not None and c.same_rep(last):
            # The same rep, seen by the other channel.
            last.seen.add(c.ch)
            self._learn(c)
            if c.ch == "T" and c.size > ALONE_MAX_DEG:
                self._big = c  # (a rep: the next big tilt alike it is one too)
            if c.ch == "T" and last.ch == "V" and self._landing is last and not self._covers_reported(c):
                self._retime(last, c)
            h = self._held
            if h is not None and h.ch != c.ch and c.same_rep(h):
                self._held = None  # the rest of that rep: one channel saw it in two pieces
            return
        h = self._held
        if h is not None and h.ch != c.ch and c.same_rep(h):
            self._held = None
            if _swing(c if c.ch == "T" else h) > self._turn_max_seen_by_both():
                return  # a stride or a sit-down, both channels moved
            keep, other = (c, h) if c.ch == "T" else (h, c)  # tilt lobes time the phases best
            keep.seen.add(other.ch)
            self._learn(other)
            self._count(t, keep)
            return
        aw = self._v_awaiting
        if aw is not None and c.ch == "T" and c.start == aw[1].t_start and c.same_rep(aw[0]):
            self._v_awaiting = None
            if _swing(c) <= self._turn_max_seen_by_both():
                c.seen.add("V")
                self._learn(aw[0])
                self._count(t, c)
                return
        if not c.blind and self._fits_set(c):
            self._count(t, c)
            return
        if h is not None:
            self._expire(t, force=True)
        self._held = c

    def _fits_set(self, c: _Candidate) -> bool:
        if not self._returns(c):
            return False
        if not self._set_under_way(c):
            return False
        last = self._last
        typ = self._typical[c.ch]
        if not (typ > 0.0 and IN_SET_FRACTION * typ <= c.size and _swing(c) <= MAX_VS_TYPICAL * typ):
            return False
        if c.ch == "V" and self._heel_still_up(last, c):
            return False
        lift_cms = self._lift_speed(c)
        if c.ch == "T" and lift_cms < T_LIFT_CMS:
            # A slow seated raise lifts the leg 1 cm in 2-3 s: slower than T_LIFT_CMS, but clear
            # of V's noise, and it turns the shank as far as the set's other reps (a sway does not).
            return c.size >= SLOW_LIFT_SIZE * typ and lift_cms >= self._slow_lift_min_cms()
        return True

    def _set_under_way(self, c: _Candidate) -> bool:
        """``c`` starts within SET_GAP_S of the last rep counted."""
        last = self._last
        return last is not None and c.start - last.lobe_end <= SET_GAP_S + _STEP_EPS_S

    def _slow_lift_min_cms(self) -> float:
        """The slowest lift (cm/s) a tilt rep may show in V and still lift the leg: clear of V's
        noise, and never under T_LIFT_MIN_CMS."""
        return max(T_LIFT_MIN_CMS, T_LIFT_NOISE * self.V.lobes.noise)

    def _pending_lift(self, usual_size: bool = True) -> _Lobe | None:
        """The tilt's lift waiting for its lowering; with ``usual_size``, only if it is of the
        set's usual size (else the tilt channel has not been timing this set's reps)."""
        p, ls, typ = self.T.pending, self.T.lift_sign, self._typical["T"]
        if p is None or ls == 0 or p.sign != ls:
            return None
        if usual_size and (typ == 0.0 or abs(p.area) < IN_SET_FRACTION * typ):
            # The heel rising more in the hold replaced the lift waiting: the two together
            # (kept in reserve) may be the usual size.
            a = self.T.alt
            if a is None or a.t_end != p.t_end or typ == 0.0 or abs(a.area) < IN_SET_FRACTION * typ:
                return None
            return a
        return p

    def _heel_still_up(self, last: _Candidate, c: _Candidate) -> bool:
        """The tilt's lift of the ``last`` rep has not turned back yet, and V's rep ``c`` came
        after it: the heel is still up, and ``c`` is a piece of the last rep's hold or lowering
        (V splits a slow rep with a long hold), not a new rep."""
        p = self._pending_lift()
        return p is not None and p.t_start <= last.top and p.t_end <= c.start

    @staticmethod
    def _lift_speed(c: _Candidate) -> float:
        """V's peak speed during a tilt rep (cm/s), with what V's leak took from a slow lift put
        back when the tilt turned back closely: a lean that shifts the stance keeps the raw."""
        if _turns_back(c, RETURN_CLOSE):
            return _unleak(c.lift_cms, c.lift_s)
        return c.lift_cms

    def _turn_max_seen_by_both(self) -> float:
        """The largest tilt (deg) of a rep both channels see: 3.5x the usual, but never under
        BOTH_FLOOR_DEG. Otherwise a set whose first reps were shallow (a 1 deg usual) refuses
        every full one after them, and since refused reps teach nothing the usual never
        catches up."""
        typ = self._typical["T"]
        return max(MAX_VS_TYPICAL * typ, BOTH_FLOOR_DEG) if typ > 0.0 else math.inf

    def _oversized(self, c: _Candidate) -> bool:
        typ = self._typical[c.ch]
        return typ > 0.0 and _swing(c) > MAX_VS_TYPICAL * typ

    def _returns(self, c: _Candidate) -> bool:
        """A tilt-only rep turns the shank back about as far as it lifted it (the heel comes
        down where it started); sway and a shift of stance do not."""
        return c.ch != "T" or _turns_back(c, TILT_ONLY_RATIO_MAX)

    def _alone_ok(self, c: _Candidate) -> bool:
        if not self._returns(c):
            return False
        if self._oversized(c):
            return False
        if c.ch == "T":
            if self._lift_speed(c) < T_LIFT_CMS or c.travel_cm < ALONE_TRAVEL_MIN_CM:
                # (Alone, with no usual travel to weigh it against: only a pair that clearly
                # brought the sensor down, past what a chip's bias turning with a seated
                # shank's 7-8 deg reads, is told apart.)
                return False
            # Out of a leg that has not kept still (no set under way, no quiet second before
            # it), a steady sway's 1-2 deg swings pair as reps: such a rep must turn further.
            settled = self._set_under_way(c) or self._quiet_before(c)
            if settled:
                if ALONE_MIN_DEG <= c.size and _swing(c) <= ALONE_MAX_DEG:
                    return True
            elif ALONE_UNSETTLED_MIN_DEG <= c.size and _swing(c) <= ALONE_MAX_DEG and _turns_back(c, RETURN_CLOSE):
                # ...and come back about as far as it went: a gyro offset not yet learned to
                # the last 0.2 deg/s (a leg that never kept still) drifts a sway's or a weight
                # shift's turn one way, 2.8 deg up and 1.2 deg back; a rep's heel comes down
                # where it started.
                return True
            typ = self._typical["T"]
            return (typ > 0.0 and ALIKE_MIN * typ <= c.size and _swing(c) <= ALIKE_MAX * typ
                    and self._quiet_before(c))
        return c.top_size >= ALONE_MIN_CM and self._lift_then_top(c)

    def _quiet_before(self, c: _Candidate) -> bool:
        """The tilt channel made no lobe of QUIET_MAX_DEG or more for ALIKE_QUIET_S before
        ``c`` started (smaller ones are the gyro's noise crossing the on-level)."""
        before = max((lb.t_end for lb in self.T.recent if lb.t_end <= c.start and abs(lb.area) >= QUIET_MAX_DEG),
                     default=-math.inf)
        return c.start - before >= ALIKE_QUIET_S - _STEP_EPS_S

    @staticmethod
    def _lift_then_top(c: _Candidate) -> bool:
        """A V rep with a real lift before its top, no slower than a rep alone can be: a rest
        level a few mg off (after walking, a new posture) reads as a long sag with no lift."""
        return c.size >= V_UP_SHARE * c.top_size and max(c.lift_s, c.lower_s) <= MAX_ALONE_PHASE_S

    def _expire(self, t: float, force: bool = False) -> None:
        h = self._held
        if h is None:
            return
        # A V rep waits for the tilt's lowering lobe, unless the tilt channel is quiet (or does
        # not know yet which way a lift turns it). A rep-like tilt too big to count alone (45 deg
        # on the instep) waits longer for V, whose top lobe can end after the tilt's lowering.
        if h.ch == "T":
            wait = HOLD_BIG_T_S if h.size > ALONE_MAX_DEG and self._counts_with_v(h) else HOLD_T_S
        else:
            wait = HOLD_T_S if self.T.lobes.sign == 0 or self.T.lift_sign == 0 else HOLD_S
        if not force and t - h.t < wait - _STEP_EPS_S:
            return
        self._held = None
        if h.blind:
            return
        if self._alone_ok(h):
            self._count(t, h)
        elif h.ch == "V" and self._tilt_agrees(h):
            h.seen.add("T")
            self._count(t, h)
        elif h.ch == "T" and h.size > ALONE_MAX_DEG and self._counts_with_v(h):
            self._big_alike(t, h)
        elif h.ch == "T":
            self._slow_alike(t, h)
        elif h.ch == "V" and self._lift_then_top(h) and not self._oversized(h):
            p = self._pending_lift(usual_size=False)
            if p is not None and _half_within(p, h.start, h.top):
                # The tilt lifted under V's rise and has not turned back: V's top lobe ended in
                # a long hold. The tilt's rep, when its lowering comes, is this one.
                self._v_awaiting = (h, p)
        if not h.counted and self._returns(h) and not self._oversized(h):
            self._refused = h

    def _tilt_agrees(self, c: _Candidate) -> bool:
        """A V rep in a set, smaller than the set's usual in V, with a tilt lift of the
        set's usual size under its rise and a tilt lowering under its fall that the tilt
        channel could not pair (a leg press turns the shank 0.5-1.5 deg; a lobe under
        T_MIN_DEG is not paired): the shank turned up and back with the leg, so both channels
        saw the rep."""
        ls, typ = self.T.lift_sign, self._typical["T"]
        if (ls == 0 or typ == 0.0 or not self._set_under_way(c)
                or self._oversized(c) or not self._lift_then_top(c)):
            return False
        up = dn = None
        for lb in self.T.recent:
            if lb.t_end <= c.start or lb.t_start >= c.lobe_end:
                continue
            if lb.sign == ls and _half_within(lb, c.start, c.top):
                up = lb
            elif lb.sign == -ls and up is not None and _half_within(lb, c.top, c.lobe_end):
                dn = lb
        if up is None or dn is None:
            return False
        a, b = abs(up.area), abs(dn.area)
        return (a >= IN_SET_FRACTION * typ and min(a, b) >= AGREE_MIN_DEG
                and max(a, b) <= TILT_ONLY_RATIO_MAX * min(a, b))

    def _big_alike(self, t: float, c: _Candidate) -> None:
        """A tilt rep too big to count alone that V did not confirm (on the instep a slow raise
        barely shows in V): the second of two alike, with the leg resting between them (a
        stride's tilts follow each other without a pause), starts a set, and both count."""
        p = self._big
        self._big = c
        if p is None or not _big_pair(p, c):
            return
        self._big = None
        if self._last is None or not p.same_rep(self._last):
            self._count(t, p)
        self._count(t, c)

    def _slow_alike(self, t: float, c: _Candidate) -> None:
        """A small tilt rep that lifts the leg too slowly to count alone (a leg press raised and
        lowered in 3-4 s turns the shank ~1 deg and lifts the sensor slower than V's leak lets
        it show, so nothing else starts the set): the third of three alike, each after the leg
        kept quiet for ALIKE_QUIET_S (sway and fidgets do not pause), starts a set; all count."""
        run = self._slow_run
        if (not self._returns(c) or self._oversized(c) or not self._quiet_before(c)
                or self._lift_speed(c) < self._slow_lift_min_cms()):
            run.clear()
            return
        if run:
            p = run[-1]  # (each like the one before: the axis is still being learned at first)
            if not (c.start - p.lobe_end <= SET_GAP_S + _STEP_EPS_S and _alike(c, p, SLOW_ALIKE, SLOW_ALIKE)):
                run.clear()
        run.append(c)
        if len(run) < SLOW_RUN:
            return
        for p in tuple(run):  # (counting restarts the run)
            if not p.counted and (self._last is None or not p.same_rep(self._last)):
                self._count(t, p)
        if len(run) >= SLOW_RUN:
            del run[:-1]  # (nothing new was counted)

    def _counts_with_v(self, c: _Candidate) -> bool:
        """A tilt rep that V's confirmation would let count: it turns back, is not a stride
        for this session, and lifts the leg."""
        return self._returns(c) and not self._oversized(c) and self._lift_speed(c) >= T_LIFT_CMS

    def _learn(self, c: _Candidate) -> None:
        if c.blind:
            return  # (its size is the bias's, not the lift's)
        rp = self._recent[c.ch]
        rp.append(c.size)
        if len(rp) > 5:
            del rp[0]
        self._typical[c.ch] = _median(rp)
        if c.ch == "T":
            self.T.vote_min = IN_SET_FRACTION * self._typical["T"]
            tr = self._travels
            if c.travel_cm == c.travel_cm:  # (not NaN: a heel strike in it)
                tr.append(c.travel_cm)
                if len(tr) > 5:
                    del tr[0]

    def _count(self, t: float, c: _Candidate) -> None:
        """Counted; reported once the heel is down (an impact there marks a bounce)."""
        b = self._big
        if b is not None and c.ch == "T" and c.size > ALONE_MAX_DEG and b is not c:
            # A big tilt rep V confirmed, after one alike that nothing confirmed: that one was
            # the set's first, as if the two had counted as alike (the first of an instep set
            # often waits for V in vain: V's view of it is all the bias turning).
            self._big = None
            if _big_pair(b, c) and (self._last is None or not b.same_rep(self._last)):
                self._count(t, b)
        if not self._set_under_way(c):
            self._first_of_set(t, c)
        if self._landing is not None:
            self._report(t)
        self._last = c
        self._learn(c)
        c.counted = True
        # A tilt rep counted is the first of the next run (one rep does not set a usual size).
        self._slow_run[:] = [c] if c.ch == "T" else []
        if c.ch == "V":
            # V's top lobe ends on the way down: the heel lands a little later.
            c.end = c.lobe_end + _v_landing_after_s(c.lower_s)
        self._expect_landing(c)
        self._landing = c

    def _first_of_set(self, t: float, c: _Candidate) -> None:
        """``c`` starts a set. The rep refused alone just before it, alike it (size, lift and
        lowering within SLOW_ALIKE) and seen by the same channel, was the set's first: the first
        rep of a set nothing is under way for has only the tests a rep alone must pass, and a
        leg press's 1 deg or a hack squat's small V rise fails them, while the second counts
        with both channels (trace 23: the session's first rep, 1.0 deg up and 0.9 deg back,
        then one of 1.0 deg that V confirmed). Counted now, late; never across a gap, and for
        the tilt only after a quiet leg (sway and fidgets do not pause)."""
        d = self._refused
        self._refused = None
        if (d is None or d is c or d.counted or d.ch != c.ch or d.lobe_end < self._t_started
                or d.lobe_end > c.start + _STEP_EPS_S or c.start - d.lobe_end > SET_GAP_S + _STEP_EPS_S
                or d.same_rep(c) or (self._last is not None and d.same_rep(self._last))
                or not _alike(d, c, SLOW_ALIKE, SLOW_ALIKE)
                or (d.ch == "T" and not self._quiet_before(d))):
            return
        self._count(t, d)

    def _retime(self, c: _Candidate, by: _Candidate) -> None:
        """A rep counted from V and not yet reported takes the tilt lobes' timing."""
        c.start, c.top, c.end, c.lobe_end = by.start, by.top, by.end, by.lobe_end
        c.lift_s, c.lower_s, c.hold_s, c.rom_deg, c.down = by.lift_s, by.lower_s, by.hold_s, by.rom_deg, by.down
        c.tempo_s, c.lower_cms = by.tempo_s, by.lower_cms
        self._expect_landing(c)

    def _expect_landing(self, c: _Candidate) -> None:
        # A tilt lowering lobe ends at T_END_FRACTION of its peak, ~11 % of a min-jerk lowering
        # before the heel is down: wait for the heel-down estimate (a slow settle that kept the
        # lobe open is already past it). V's end is its own estimate.
        land = min(c.down, c.end + DOWN_AFTER_END * c.lower_s) if c.tilt_timed else c.end
        c.report_at = land + BOUNCE_WAIT_S
        c.bounce_g = self._bounce_g(c)
        if (self._t_impact >= c.end - IMPACT_BEFORE_S and self._t_impact > c.top
                and self._t_impact <= c.report_at + LATE_WAIT_S and self._impact_g >= c.bounce_g):
            # (No later than a landing may be waited for: a rep counted late, the set's first
            # once the second confirms it, would take the second's landing for its own.)
            c.bounce = True
            c.end = c.report_at = self._t_impact  # the heel is down: nothing more to wait for

    def _settle(self, t: float) -> None:
        c = self._landing
        if c is not None:
            step = self._into_a_stride(t, c)
            if step == _STRIDE:
                self._landing = None  # the first step's weight shift, not a rep: never reported
            elif self._impact >= c.bounce_g and self._t_impact > c.top + 0.1:
                c.bounce = True
                c.end = self._t_impact
                if step != _MAYBE_STRIDE:
                    self._report(t)
            elif (t >= c.report_at - _STEP_EPS_S and step != _MAYBE_STRIDE and not self._still_lowering(t, c)
                  and not self._tilt_still_up(t, c) and not self._still_braking(t, c)):
                self._report(t)
        self._expire(t)

    @staticmethod
    def _may_wait(t: float, c: _Candidate) -> bool:
        """``c`` may still wait for its landing: at most LATE_WAIT_S past its report time."""
        return t - c.report_at <= LATE_WAIT_S + _STEP_EPS_S

    def _into_a_stride(self, t: float, c: _Candidate) -> str:
        """Whether a one-channel rep's landing ran into a stride: _MAYBE_STRIDE while a fast turn
        that opened then may yet outgrow every rep of the session (the rep waits, at most
        LATE_WAIT_S past its report time), _STRIDE once it has (the "rep" was the first step's
        weight shift), else "". For a tilt-only rep, a turn opening within STEP_GAP_S of its
        lowering's end and far faster than its own: after trace 13's hack-squat set, 1.1 deg up
        and back in 2.1 s, then a 30 deg stride 0.04 s later, counted while walking at 25, 60
        and 120 Hz (a fast rep straight after a slow one turns under 10 deg). For a V-only rep,
        one opening after its top, while it waits for its landing: donkey trace 6 retimed 0.8x,
        V's view of the set's last landing running through a posture change into the first
        stride; standing trace 11 with 3 mg more noise, V's rebound after the set's last
        landing and a slow sag, whose "landing" was the first stride's heel strike 0.7 s after
        V's lobe ended."""
        lb = self.T.lobes
        if lb.sign == 0:
            return ""
        if c.ch == "T":
            if ("V" in c.seen or c.size > ALONE_MAX_DEG
                    or lb.t_low - c.lobe_end >= STEP_GAP_S - _STEP_EPS_S):
                return ""
            # (1.875 size / lift_s is the rep's own lift lobe's peak rate: min-jerk)
            fast_dps = max(STEP_RATE_RATIO * 1.875 * c.size / c.lift_s, STEP_RATE_DPS)
        else:
            if "T" in c.seen or not c.top < lb.t_low:
                return ""
            fast_dps = STEP_RATE_DPS
        if abs(lb.area) > max(ALONE_MAX_DEG, self._turn_max_seen_by_both()):
            return _STRIDE
        return _MAYBE_STRIDE if lb.peak > fast_dps and self._may_wait(t, c) else ""

    def _bounce_g(self, c: _Candidate) -> float:
        """The impact spike (g) that marks ``c``'s landing a bounce: SHOCK_BOUNCE_G above what
        the leg's own smooth stop reads as. The stencil (half-width h s) sees a min-jerk
        lowering of height A over T s as up to 180 A h^2 / T^4, or 96 v h^2 / T^3 from its
        peak speed v: 0.5 g for 7 cm in 0.25 s sampled at 25 Hz (every such rep was flagged),
        0.13 g at 50 Hz, 0.03 g at 100 Hz, next to nothing for a 1 s lowering."""
        blur = _BLUR_T_S2 if c.tilt_timed else _BLUR_V_S2
        lower_s = max(_unblur(c.tempo_s[1], blur), MIN_PHASE_S)
        h_s = self._h * self._dt_avg
        return SHOCK_BOUNCE_G + 96.0 * 0.01 * c.lower_cms * h_s * h_s / (lower_s ** 3 * 9.80665)

    def _tilt_still_up(self, t: float, c: _Candidate) -> bool:
        """A rep only V timed while the tilt channel's lift under it has not turned back yet:
        the heel is still up (V's top lobe ended in the hold), so wait for the tilt's lowering,
        which retimes the rep: at most ``TILT_WAIT_S`` for it to start (from the end of the
        lift, which may rise again in the hold), then while it lasts."""
        if "T" in c.seen:
            return False
        p, ls, lb = self._pending_lift(), self.T.lift_sign, self.T.lobes
        if p is None or p.t_end <= c.start or p.t_start >= c.top:
            return False
        last = self.T.last
        if (last is not None and last.sign == -ls and p.t_end <= last.t_start <= c.top_end
                and abs(last.area) * TILT_ONLY_RATIO_MAX >= abs(p.area)):
            # The tilt turned back before V's top lobe ended: V's timing was right (a turn back
            # of under a quarter of the lift is the heel sagging in the hold, not the lowering).
            return False
        if lb.sign == -ls or (lb.sign == 0 and lb.area * ls < 0.0):
            # Turning back now (a slow lowering may not have reached the on-level yet): if it
            # began after V's top lobe ended, that lobe was in the hold.
            if lb.t_low > c.top_end:
                return t - lb.t_low <= MAX_PHASE_S + _STEP_EPS_S
        if -ls * (self.T.between + lb.area) * TILT_ONLY_RATIO_MAX >= abs(p.area):
            return False  # turned back, in pieces, more than a sag: V's timing was right
        if p.t_start >= 0.5 * (c.start + c.top):
            # A lift that began late in V's rise is not surely this rep's: wait briefly.
            return t - c.top_end <= TILT_WAIT_S + _STEP_EPS_S
        if (lb.sign == ls and lb.t_low - p.t_end < HOLD_MAX_S - _STEP_EPS_S
                and t - lb.t_low <= MAX_PHASE_S + _STEP_EPS_S):
            return True  # the heel rising again in the hold
        return t - max(c.top_end, p.t_end) <= TILT_WAIT_S + _STEP_EPS_S

    def _still_braking(self, t: float, c: _Candidate) -> bool:
        """A rep V timed, with V rising again since its lowering lobe ended: V's leak ends a slow
        lowering's lobe early, and as the heel brakes for the floor the leaky speed overshoots
        upwards until it is down (a 2.5 s lowering: the lobe ends 0.6 s before). Wait while V
        is at the top of that rise, and BRAKE_TAIL_S after (V tops out as the braking eases,
        just before the heel lands, and a chip's noise tops it out a little earlier still), up to
        LATE_WAIT_S past the report time; not while the tilt is turning down, whose own lobe
        will time the rep."""
        if c.tilt_timed or not self._may_wait(t, c):
            return False
        ls = self.T.lift_sign
        if ls != 0 and self.T.lobes.sign == -ls:
            return False
        lb, v = self.V.lobes, self._vert[1]
        if (lb.area > 0.0 and lb.t_low >= c.lobe_end - _STEP_EPS_S and v > 1.5 * lb.noise
                and v >= lb.peak - lb.noise):
            c.braked = t
        return t - c.braked <= BRAKE_TAIL_S + _STEP_EPS_S

    def _still_lowering(self, t: float, c: _Candidate) -> bool:
        """A rep only V timed, whose top lobe ended during a long hold: V sinking again soon
        after is the lowering, and the heel is not down until it ends; a sink that outlasts
        what a lowering of this rep can take (TEMPO_RATIO_MAX x its lift) is drift."""
        lb = self.V.lobes
        sinking = lb.sign == -1 or (lb.sign == 0 and lb.area < 0.0 and lb.t_low > c.lobe_end)
        return (sinking and t - lb.t_low <= TEMPO_RATIO_MAX * c.lift_s
                and self._lowering_of(c, lb.t_low, lb.area))

    def _lowering_of(self, c: _Candidate, t_start: float, area: float) -> bool:
        """A V lobe starting at ``t_start`` of ``area`` (cm) is the lowering of ``c`` (no more
        than the lift: a bigger sag is the leg leaving the machine)."""
        return (c.ch == "V" and "T" not in c.seen and not c.extended
                and t_start - c.lobe_end < MERGE_GAP_S - _STEP_EPS_S and -area <= c.size)

    def _report(self, t: float) -> None:
        c = self._landing
        self._landing = None
        flags: list[str] = []
        if c.bounce:
            flags.append(BOUNCING)
        # The channel's smoothing widens a lobe (by BLUR_SCALE tau^2 in T^2 per EMA).
        blur = _BLUR_T_S2 if c.tilt_timed else _BLUR_V_S2
        lift_s, lower_s = _unblur(c.tempo_s[0], blur), _unblur(c.tempo_s[1], blur)
        if lift_s + lower_s < self.too_fast_s:
            flags.append(TOO_FAST)
        self._out.append(DetectedRep(c.start, c.top, c.end, t, lift_s, c.hold_s, lower_s, c.rom_deg,
                                     tuple(flags)))
        self._reported = (c.start, c.end)
