"""Counter settings, all in SI-ish units named in the field."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CounterConfig:
    """What a user or coach may change; the detector's internals are not here on purpose.

    ``too_fast_s``: a rep whose lift + lower takes less than this is flagged ``too_fast``.
    ``rest_s``: a set ends after this long without a rep.
    ``min_set_reps``: a "set" of fewer reps that ends by itself (rest or end of recording) was
    not a set (a stray movement before or after one): it is discarded and its number reused.
    """

    target_sets: int = 3
    target_reps: int = 15
    too_fast_s: float = 1.2
    rest_s: float = 20.0
    min_set_reps: int = 3

    def __post_init__(self) -> None:
        if self.target_sets < 1:
            raise ValueError(f"target_sets must be >= 1, got {self.target_sets}")
        if self.target_reps < 1:
            raise ValueError(f"target_reps must be >= 1, got {self.target_reps}")
        if not 0.2 <= self.too_fast_s <= 10.0:
            raise ValueError(f"too_fast_s must be within 0.2..10 s, got {self.too_fast_s}")
        if not 1 <= self.min_set_reps <= 10:
            raise ValueError(f"min_set_reps must be within 1..10, got {self.min_set_reps}")
        if not 3.0 <= self.rest_s <= 600.0:
            raise ValueError(f"rest_s must be within 3..600 s, got {self.rest_s}")
