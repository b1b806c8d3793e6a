"""One IMU sample in the sensor frame."""
from __future__ import annotations

from typing import NamedTuple


class Sample(NamedTuple):
    """One accelerometer + gyroscope reading, in the sensor's own frame.

    ``t_s`` is seconds since the first sample of the recording, taken from the sensor's
    clock (sample index / configured rate), never from the wall clock. Accelerations are
    specific force in g (about +1 g pointing *up* at rest); rates are deg/s.
    """

    t_s: float
    ax_g: float
    ay_g: float
    az_g: float
    gx_dps: float
    gy_dps: float
    gz_dps: float


COLUMNS: tuple[str, ...] = Sample._fields
