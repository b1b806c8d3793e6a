"""The benchmark's pieces run and report sane figures (no timing thresholds here)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from counter.trace import read_trace

spec = importlib.util.spec_from_file_location("calfcount_bench", Path(__file__).with_name("run.py"))
bench = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
spec.loader.exec_module(bench)  # type: ignore[union-attr]


def test_benchmark_pieces(traces_dir: Path, tmp_path: Path) -> None:
    samples = list(read_trace(traces_dir / bench.BASE_TRACE))[:1500]
    path = tmp_path / "t.csv"
    bench.write_trace(str(path), samples, 100)
    tp = bench.throughput(samples, str(path), 1)
    assert tp["pipeline_sps"] > 0 and tp["counter_sps"] >= tp["pipeline_sps"] * 0.5
    cost = bench.per_sample_cost(samples)
    assert 0 <= cost["p50_us"] <= cost["p99_us"] <= cost["worst_us"]
    assert bench.naive_throughput(samples, 5, growing=True) > 0
    r400 = bench.resampled(samples, 400)
    assert abs(len(r400) - 4 * len(samples)) <= 4
    assert set(bench.machine()) >= {"cpu", "python", "numpy"}


def test_latency_figures(traces_dir: Path) -> None:
    lat = bench.latency()
    assert lat["latency_n"] > 500
    assert lat["latency_p50_s"] <= lat["latency_p99_s"]
