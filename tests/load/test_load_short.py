"""A short run of the load script: streams and reads together, no error, every rep delivered
to every stream. The delays it measures are figures for ``load_test.py`` to print, not
asserted here (a loaded CI machine is no measure of a phone on a Pi)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("calfcount_load", Path(__file__).with_name("load_test.py"))
load = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
spec.loader.exec_module(load)  # type: ignore[union-attr]


def test_short_load(traces_dir: Path) -> None:
    r = load.run(seconds=6.0, clients=5, rps=20.0, speed=20.0)
    assert r["error_count"] == 0, r["errors"]
    assert r["reads"] >= 60
    assert r["reps_counted"] >= 3
    assert r["rep_deliveries"] >= 5 * (r["reps_counted"] - 1)
