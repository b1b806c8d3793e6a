"""The benchmark runs end to end on a few seconds of data and reports sane figures.

No timing thresholds here: speed depends on the machine; ``run.py --strict`` is for that.
"""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import pytest

spec = importlib.util.spec_from_file_location("calfcount_bench", Path(__file__).with_name("run.py"))
bench = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
sys.modules[spec.name] = bench  # type: ignore[union-attr]  # dataclasses look their module up here
spec.loader.exec_module(bench)  # type: ignore[union-attr]

TINY = bench.Sizes(throughput_samples=1500, repeats=1, cost_samples=1500, naive_s=3.0,
                   memory_hours=0.02, latency_traces=2, session_min=(0.5,), session_timed=50)


@pytest.fixture(scope="module")
def report(traces_dir: Path) -> dict[str, Any]:
    return bench.run(TINY, str(traces_dir))


def test_report_fields_and_values(report: dict[str, Any]) -> None:
    assert {"cpu", "python", "numpy", "openblas_coretype"} <= set(report["machine"])
    assert set(report["rates"]) == {25, 100, 400}
    for x in report["rates"].values():
        assert x["samples"] == TINY.throughput_samples
        assert x["pipeline_sps"] > 0 and x["counter_sps"] > 0
    c = report["cost"]
    assert 0 <= c["p50_us"] <= c["p99_us"] <= c["p999_us"] <= c["worst_us"]
    nv = report["naive"]
    assert nv["naive_sps"] > 0 and nv["ours_sps"] > 0 and nv["ratio"] > 0
    assert list(nv["session_sps"]) == [0.5] and nv["session_sps"][0.5] > 0
    mem = report["memory"]
    assert mem["samples"] == int(TINY.memory_hours * 3600 * 100)
    assert 0 < mem["rss_start_mb"] <= mem["rss_peak_mb"]
    assert mem["rss_end_mb"] <= mem["rss_peak_mb"] and mem["rss_growth_mb"] >= 0
    lat = report["latency"]
    assert lat["latency_n"] > 0 and len(lat["latencies_s"]) == lat["latency_n"]
    assert lat["latency_p50_s"] <= lat["latency_p99_s"] <= lat["latency_max_s"]


def test_printed_table(report: dict[str, Any]) -> None:
    text, failed = bench.format_report(report)
    for needle in ("Intel" if "Intel" in report["machine"]["cpu"] else "CPU", "Python", "numpy",
                   "OPENBLAS_CORETYPE", "25 Hz", "100 Hz", "400 Hz", "p99", "worst pause", "naive find_peaks",
                   "RSS start", "peak", "growth", "heel down", "Pi Zero 2 W"):
        assert needle in text
    results = [line.rsplit(None, 1)[-1] for line in text.splitlines()
               if line.endswith(("PASS", "FAIL"))]
    assert len(results) == 7 and set(failed) <= {n for n, *_ in bench.checks(report)}


def test_naive_rings_agree(traces_dir: Path) -> None:
    """The numpy ring and the deque hold the same window, so they count the same peaks."""
    paths = bench.traces_at(100.0, str(traces_dir))
    samples = bench.as_samples(bench.concatenated(paths[:1], 3000, 100.0)[:3000])
    counters = [bench.NaivePeakCounter(100.0, ring) for ring in ("numpy", "deque")]
    for s in samples:
        assert counters[0].update(s) == counters[1].update(s)
    assert counters[0].reps == counters[1].reps


def test_naive_session_prefill_is_the_same_state(traces_dir: Path) -> None:
    """Filling the whole-session buffer without searching it leaves the counter where feeding
    every sample through update() does: same buffer, same peaks counted next."""
    paths = bench.traces_at(100.0, str(traces_dir))
    samples = bench.as_samples(bench.concatenated(paths[:1], 6000, 100.0)[:6000])
    fed, filled = bench.NaivePeakCounter(100.0, "session"), bench.NaivePeakCounter(100.0, "session")
    for s in samples[:4000]:
        fed.update(s)
    filled.prefill(samples[:4000])
    assert filled._len == fed._len == 4000
    assert (filled._buf[:4000] == fed._buf[:4000]).all()
    assert math.isclose(filled._last_peak_t, fed._last_peak_t)
    assert [fed.update(s) for s in samples[4000:]] == [filled.update(s) for s in samples[4000:]]
    with pytest.raises(ValueError):
        bench.NaivePeakCounter(100.0, "growing").prefill(samples[:10])


def test_resampling() -> None:
    import numpy as np

    t = np.arange(0, 10, 0.01)
    base = np.column_stack([t] + [np.sin(t + j) for j in range(6)])
    r25 = bench.at_rate(base, 100.0, 25, 200)
    assert np.allclose(np.diff(r25[:, 0]), 0.04)
    r400 = bench.at_rate(base, 100.0, 400, 3000)
    assert np.allclose(np.diff(r400[:, 0]), 0.0025)
    assert math.isclose(r400[4, 1], base[1, 1])
    assert bench.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0


def test_naive_growing_buffer_empties_after_a_set() -> None:
    """The growing-buffer counter keeps the whole set and drops it after a rest."""
    rate_hz = 50.0
    counter = bench.NaivePeakCounter(rate_hz, "growing")

    def swing(t_s: float) -> tuple[float, ...]:
        gyro_dps = 40.0 * max(0.0, math.sin(2 * math.pi * 0.5 * t_s))  # one peak every 2 s
        return (t_s, 0.0, 0.0, 1.0, gyro_dps, 0.0, 0.0)

    t = [i / rate_hz for i in range(int(60 * rate_hz))]
    for t_s in t:
        still = not (t_s < 10.0 or 40.0 <= t_s < 50.0)  # two 10 s sets, 30 s apart
        counter.update(bench.Sample(*((t_s, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0) if still else swing(t_s))))
        if t_s == t[int(39 * rate_hz)]:
            assert counter._len < 20 * rate_hz   # the first set's samples are gone
    assert counter.reps == 10
    assert counter._len > 20 * rate_hz       # the second set is kept whole
