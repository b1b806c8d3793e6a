"""Synthetic sweep: clean calf raises of every kind the counter should count, at every rate.

    python tests/counter/sweep.py            # prints each configuration it gets wrong
    python tests/counter/sweep.py --chip     # the same through a real chip: any mounting,
                                             # biases (20 mg, 2 deg/s) and white noise
    python tests/counter/sweep.py --chip --mountings 4   # each through 4 mountings
    python tests/counter/sweep.py --leg-press-slide      # the leg press as the traces' README
                                             # has it: 5 cm along the shank, 65 deg from vertical

Each configuration is 8 synthetic reps (``test_pipeline._synthetic_rep_samples``: min-jerk
tilt and lift, no noise) of one placement or variant, tempo, hold and landing, at 25, 100 and
400 Hz, each sample the mean of the motion over its interval as a chip's low-pass gives it
(``--chip`` also turns the sensor frame by a random rotation per configuration and adds an
accelerometer bias of ~27 mg, a gyro bias of ~2.7 deg/s and 3 mg / 0.05 deg/s of noise). A
configuration is right when all 8 reps count, exactly those with lift + lowering
under 1.2 s are too_fast, and (with a bounce at each landing but the last) at least 6 of the 7
bouncing reps are flagged and none is flagged without. It finds logic faults that the
recordings do not reach (a fast instep raise counted 1.6 times, slow seated sets that never
started, bouncing sets at 25 Hz that counted one rep); it is not an accuracy figure. One mounting per
configuration hides how much the result depends on it (the instep's bias turns with the foot
by a different share in each): ``--mountings N`` runs each configuration through N of them.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from counter import CalfCounter  # noqa: E402
from test_pipeline import _chip_sampled_reps, _reps, _through_a_chip  # noqa: E402

# (tilt of the rep in deg, travel of the sensor in m, the travel's angle from vertical in deg)
KINDS = {"standing": (4.0, 0.05, 0.0), "seated": (6.0, 0.01, 0.0), "hack squat": (0.5, 0.06, 0.0),
         "leg press": (1.2, 0.03, 0.0), "instep": (45.0, 0.05, 0.0)}
# A leg press slides the shank 3-7 cm along itself at 50-80 deg from vertical: V sees cos of it.
LEG_PRESS_SLIDE = (1.2, 0.05, 65.0)
TEMPOS_S = [(0.4, 0.5), (1.0, 1.2), (2.0, 2.5)]  # (lift, lowering)
HOLDS_S = [0.0, 0.5, 1.5]
RATES_HZ = [25, 100, 400]
N = 8


def wrong(chip: bool = False, mountings: int = 1, slide: bool = False) -> tuple[list[str], int]:
    """One line per configuration the counter gets wrong (through any of ``mountings``
    chips), and how many runs of all were wrong; ``slide``: the leg press slides along its shank
    (LEG_PRESS_SLIDE) rather than rising 3 cm."""
    kinds = dict(KINDS, **({"leg press": LEG_PRESS_SLIDE} if slide else {}))
    out = []
    seed = 0
    runs_wrong = 0
    for rate in RATES_HZ:
        for kind, (tilt_deg, lift_m, travel_deg) in kinds.items():
            for lift_s, lower_s in TEMPOS_S:
                for hold_s in HOLDS_S:
                    for bounce in (False, True):
                        samples = _chip_sampled_reps(rate, N, bounce=bounce, lift_s=lift_s, lower_s=lower_s,
                                                     hold_s=hold_s, tilt_deg=tilt_deg, lift_m=lift_m,
                                                     travel_deg=travel_deg)
                        seed += 1
                        seen = []
                        for m in range(mountings if chip else 1):
                            # (the first mounting is the one a single-mounting run uses)
                            run = _through_a_chip(samples, seed + 1000 * m) if chip else samples
                            reps = _reps(CalfCounter().run(run))
                            fast = sum("too_fast" in r.flags for r in reps)
                            bounced = sum("bouncing" in r.flags for r in reps)
                            ok = (len(reps) == N and fast == (N if lift_s + lower_s < 1.2 else 0)
                                  and (bounced >= N - 2 if bounce else bounced == 0))
                            runs_wrong += not ok
                            seen.append((ok, f"{len(reps)} reps, {fast} too_fast, {bounced} bouncing"))
                        if not all(ok for ok, _ in seen):
                            out.append(f"{rate:3d} Hz {kind:<10} up {lift_s} s hold {hold_s} s down {lower_s} s"
                                       f"{' bouncing' if bounce else '':9}: "
                                       + " | ".join(text for _, text in seen))
    return out, runs_wrong


if __name__ == "__main__":
    args = sys.argv[1:]
    mountings = int(args[args.index("--mountings") + 1]) if "--mountings" in args else 1
    lines, runs_wrong = wrong(chip="--chip" in args, mountings=mountings, slide="--leg-press-slide" in args)
    print("\n".join(lines))
    total = len(RATES_HZ) * len(KINDS) * len(TEMPOS_S) * len(HOLDS_S) * 2
    print(f"{len(lines)} of {total} configurations wrong")
    if "--chip" in args and mountings > 1:
        print(f"{runs_wrong} of {total * mountings} runs wrong ({mountings} mountings each)")
