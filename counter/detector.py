"""Rep detector (placeholder interface; the real detector replaces the body)."""
from __future__ import annotations

from typing import NamedTuple

from counter.config import CounterConfig
from counter.sample import Sample


class DetectedRep(NamedTuple):
    start_s: float
    top_s: float
    end_s: float
    emitted_at_s: float
    lift_s: float
    hold_s: float
    lower_s: float
    rom_deg: float
    flags: tuple[str, ...]


class RepDetector:
    def __init__(self, config: CounterConfig):
        self.config = config
        self.signal = 0.0
        self.phase = "idle"

    def update(self, s: Sample) -> DetectedRep | None:
        return None

    def gap(self, t_s: float, duration_s: float) -> None:
        pass
