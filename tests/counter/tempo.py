"""Slow a recording down (or speed it up) as if the same person moved at another tempo.

A real recording is kept whole (noise, sway, placement, biases); only its motion is retimed by
a factor ``k`` (k > 1: slower):

* the direction of gravity in the sensor frame is followed by a complementary filter (gyro
  propagated, pulled toward the accelerometer with a 2 s time constant), run forwards and
  backwards and averaged, so it has no lag;
* the rest of the acceleration, the leg's own motion, is scaled by 1/k**2 (a move of the same
  size taking k times longer), the gyro less its bias by 1/k, time by k;
* white noise lost by the scaling is put back, so the channels stay as noisy as the chip.

Heel impacts are stretched and softened too, so the bouncing flag is not checked on the result.
"""
from __future__ import annotations

import numpy as np

from counter.sample import Sample

ACCEL_NOISE_G = 0.003
GYRO_NOISE_DPS = 0.05


def _gravity_dir(t_s: np.ndarray, accel_g: np.ndarray, gyro_dps: np.ndarray, tau_s: float = 2.0) -> np.ndarray:
    out = np.empty_like(accel_g)
    v = accel_g[0] / np.linalg.norm(accel_g[0])
    for i in range(len(t_s)):
        if i:
            dt = t_s[i] - t_s[i - 1]
            v = v - np.cross(np.radians(gyro_dps[i]), v) * dt
            a = accel_g[i] / max(float(np.linalg.norm(accel_g[i])), 1e-6)
            v = v + (dt / tau_s) * (a - v)
            v = v / np.linalg.norm(v)
        out[i] = v
    return out


def stretch(samples: list[Sample], k: float, seed: int = 0) -> list[Sample]:
    """The recording retimed by ``k`` at its own sample rate."""
    a = np.array(samples, dtype=float)
    t, acc, gyr = a[:, 0], a[:, 1:4], a[:, 4:7]
    dt = float(np.median(np.diff(t)))
    # Gyro bias: the median rate over the quietest tenth of one-second windows.
    w = max(1, int(round(1.0 / dt)))
    windows = [gyr[i:i + w] for i in range(0, len(gyr) - w + 1, w)]
    quiet = sorted(windows, key=lambda x: float(x.var(axis=0).sum()))[:max(1, len(windows) // 10)]
    bias = np.median(np.concatenate(quiet), axis=0)
    rate = gyr - bias
    fwd = _gravity_dir(t, acc, rate)
    bwd = _gravity_dir(t[-1] - t[::-1], acc[::-1], -rate[::-1])[::-1]
    g_dir = fwd + bwd
    g_dir /= np.linalg.norm(g_dir, axis=1, keepdims=True)
    g = float(np.median(np.linalg.norm(acc, axis=1)))
    motion = acc - g_dir * g

    t_new = np.arange(0.0, t[-1] * k, dt)
    src = t_new / k

    def at(x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.interp(src, t, x[:, j]) for j in range(x.shape[1])])

    g_new = at(g_dir)
    g_new /= np.linalg.norm(g_new, axis=1, keepdims=True)
    acc_new = g_new * g + at(motion) / k ** 2
    gyr_new = at(rate) / k + bias
    rng = np.random.default_rng(seed)
    acc_new += rng.normal(scale=ACCEL_NOISE_G * np.sqrt(max(0.0, 1 - k ** -4)), size=acc_new.shape)
    gyr_new += rng.normal(scale=GYRO_NOISE_DPS * np.sqrt(max(0.0, 1 - k ** -2)), size=gyr_new.shape)
    rows = np.column_stack([t_new, np.round(acc_new, 5), np.round(gyr_new, 3)])
    return [Sample(*r) for r in rows.tolist()]


def stretch_sets(sets: list[dict], k: float) -> list[tuple[float, float, int]]:
    """Labelled sets as (start_s, end_s, reps) on the retimed clock."""
    return [(s["start_s"] * k, s["end_s"] * k, len(s["reps"])) for s in sets]
