"""calfcount benchmarks: speed, per-sample cost, memory and report delay, beside a naive counter.

    python tests/benchmarks/run.py            # full run (about a minute; must stay under 10)
    python tests/benchmarks/run.py --quick    # under 60 s (typically ~10 s)
    python tests/benchmarks/run.py --strict   # exit 1 when a target is missed
    python tests/benchmarks/run.py --json     # also print the figures as one JSON object

Every figure is measured on the machine the script runs on; the targets are printed with
PASS/FAIL but only ``--strict`` turns a FAIL into a non-zero exit.

Inputs are the labelled traces (``CALFCOUNT_TRACES``, default ``../shared/traces`` beside the
repository). The 100 Hz ones are concatenated (timestamps shifted) into a long recording;
25 Hz is that recording decimated by 4, 400 Hz its linear interpolation.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import glob
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from counter import CalfCounter, RepEvent, Sample  # noqa: E402
from counter.trace import TraceReader, TraceWriter, read_trace  # noqa: E402

TRACES_DIR = os.environ.get("CALFCOUNT_TRACES", os.path.join(os.path.dirname(REPO), "shared", "traces"))
SCORER_PATH = os.path.join(os.path.dirname(REPO), "shared", "tools", "score.py")

BASE_RATE_HZ = 100.0
RATES_HZ = (25, 100, 400)
# Assumption, not a measurement: one Cortex-A53 core of a Pi Zero 2 W at 1 GHz runs this
# pure-Python loop about 15x slower than one core of a current x86 server.
PI_ZERO_2W_SLOWDOWN = 15.0
NAIVE_WINDOW_S = 10.0      # the naive counter's sliding buffer
NAIVE_SET_REST_S = 20.0    # the growing-buffer counter starts a new set (empties) after this rest
NAIVE_PROMINENCE_DPS = 5.0
NAIVE_MIN_DISTANCE_S = 0.5
NAIVE_TAU_S = 0.1          # EMA low-pass of |gyro| before peak picking

TARGETS: dict[str, float] = {
    "pipeline_sps": 200_000.0,   # full pipeline, each rate, one core
    "naive_ratio": 50.0,         # ours / naive throughput
    "p99_us": 50.0,              # per-sample update() cost
    "rss_growth_mb": 5.0,        # over a 2-hour replay
    "latency_p99_s": 0.5,        # heel down -> rep event
}


@dataclass(frozen=True)
class Sizes:
    """How much data each measurement uses."""

    throughput_samples: int   # per rate
    repeats: int              # best-of for throughput
    cost_samples: int         # per-sample timing run
    naive_s: float            # naive baseline (timed part, after a full window of warm-up)
    memory_hours: float       # length of the replayed recording
    latency_traces: int       # 0 = all labelled traces
    session_min: tuple[float, ...] = (1.0, 10.0, 30.0)  # never-emptied naive buffer: this far in
    session_timed: int = 1000                           # ...samples timed there


FULL = Sizes(throughput_samples=300_000, repeats=5, cost_samples=300_000, naive_s=60.0,
             memory_hours=2.0, latency_traces=0)
QUICK = Sizes(throughput_samples=40_000, repeats=2, cost_samples=40_000, naive_s=30.0,
              memory_hours=2.0, latency_traces=0, session_timed=300)


# ---------------------------------------------------------------------------------------------
# helpers

def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError, StopIteration):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    try:
        import scipy
        scipy_version = scipy.__version__
    except ImportError:
        scipy_version = "not installed"
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    load_1min = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    return {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy_version,
            "openblas_coretype": f"set ({coretype})" if coretype else "not set",
            "load_avg_1min": f"{load_1min:.2f}"}


@contextlib.contextmanager
def one_core() -> Iterator[str]:
    """Pin this process to one CPU (the last) so "samples/s on one core" means that."""
    if not hasattr(os, "sched_setaffinity"):
        yield "not pinned (no sched_setaffinity)"
        return
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield f"pinned to CPU {cpu}"
    finally:
        os.sched_setaffinity(0, before)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of an already sorted sequence."""
    if not sorted_values:
        return math.nan
    k = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return float(sorted_values[k])


def best_of(repeats: int, fn: Callable[[], Any]) -> float:
    """Shortest wall time of ``fn`` in seconds (the least disturbed run)."""
    best_s = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best_s = min(best_s, time.perf_counter() - t0)
    return best_s


def traces_at(rate_hz: float, traces_dir: str = TRACES_DIR) -> list[str]:
    """Labelled trace files recorded at ``rate_hz``, sorted by name."""
    out = []
    for path in sorted(glob.glob(os.path.join(traces_dir, "*.csv"))):
        with TraceReader(path) as r:
            if r.header.sample_rate_hz == rate_hz:
                out.append(path)
    return out


def concatenated(paths: Sequence[str], min_samples: int, rate_hz: float) -> np.ndarray:
    """The recordings one after another, cycled until ``min_samples``: an (n, 7) array whose
    timestamps keep increasing (each piece starts one sample interval after the previous)."""
    pieces = [np.array(list(read_trace(p)), dtype=float) for p in paths]
    out, total, t_next, k = [], 0, 0.0, 0
    while total < min_samples:
        a = pieces[k % len(pieces)].copy()
        a[:, 0] += t_next - a[0, 0]
        t_next = a[-1, 0] + 1.0 / rate_hz
        out.append(a)
        total += len(a)
        k += 1
    return np.concatenate(out)


def at_rate(base: np.ndarray, base_rate_hz: float, rate_hz: float, n: int) -> np.ndarray:
    """``n`` samples of ``base`` at ``rate_hz``: decimation for an integer divisor of the rate,
    linear interpolation otherwise."""
    step = base_rate_hz / rate_hz
    if step >= 1.0 and step == int(step):
        out = base[:: int(step)]
    else:
        t = base[0, 0] + np.arange(int((base[-1, 0] - base[0, 0]) * rate_hz)) / rate_hz
        out = np.column_stack([t] + [np.interp(t, base[:, 0], base[:, j]) for j in range(1, 7)])
    if len(out) < n:
        raise ValueError(f"need {n} samples at {rate_hz} Hz, have {len(out)}")
    return out[:n]


def as_samples(a: np.ndarray) -> list[Sample]:
    """Rows as the counter's sample tuples (built once, outside any timed region)."""
    return [Sample(*row) for row in a.tolist()]


def write_trace(path: str, samples: Sequence[Sample] | np.ndarray, rate_hz: float) -> None:
    """A v1 trace file, with the product's writer (no fsync every second: it is a scratch file)."""
    rows = samples.tolist() if isinstance(samples, np.ndarray) else samples
    with TraceWriter(path, rate_hz, {"sensor": "benchmark"}, flush_every_s=1e12) as w:
        for row in rows:
            w.write(Sample(*row))


def load_scorer(path: str = SCORER_PATH) -> Any:
    """The shared scorer module, imported by path (its ``match`` is the reference matching)."""
    spec = importlib.util.spec_from_file_location("calfcount_shared_score", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# measurements

def throughput(samples: list[Sample], path: str, repeats: int) -> dict[str, float]:
    """Samples per second: the full pipeline (parse the file, count, collect the events) and
    the counter alone (samples already in memory)."""
    reps = 0

    def pipeline() -> None:
        nonlocal reps
        events = list(CalfCounter().run(read_trace(path)))
        reps = sum(isinstance(e, RepEvent) for e in events)

    def counter_only() -> None:
        update = CalfCounter().update
        for s in samples:
            update(s)

    n = len(samples)
    pipeline_s = best_of(repeats, pipeline)
    counter_s = best_of(repeats, counter_only)
    return {"samples": n, "reps": reps, "pipeline_sps": n / pipeline_s, "counter_sps": n / counter_s}


def timer_overhead_ns(rounds: int = 50_000) -> float:
    """Median cost of the two ``perf_counter_ns`` calls that bracket each measured update."""
    clock = time.perf_counter_ns
    d = []
    for _ in range(rounds):
        t0 = clock()
        t1 = clock()
        d.append(t1 - t0)
    d.sort()
    return float(d[len(d) // 2])


def per_sample_cost(samples: list[Sample]) -> dict[str, float]:
    """Cost of one ``CalfCounter.update`` in microseconds (p50, p99, p99.9, worst), the timer's
    own overhead removed. The garbage collector stays on: its pauses are part of the real cost.
    The samples held here are frozen out of its view first: a device holds one sample at a
    time, and a collection scanning these 300,000 (7 ms once per run) was the benchmark's own
    pause, reported as the counter's."""
    overhead_ns = timer_overhead_ns()
    clock = time.perf_counter_ns
    update = CalfCounter().update
    costs_ns = [0] * len(samples)
    emitted: list[int] = []
    gc.collect()
    gc.freeze()
    try:
        for i, s in enumerate(samples):
            t0 = clock()
            evs = update(s)
            t1 = clock()
            costs_ns[i] = t1 - t0
            if evs:
                emitted.append(i)
    finally:
        gc.unfreeze()
    worst_i = max(range(len(costs_ns)), key=costs_ns.__getitem__)
    event_costs = sorted(costs_ns[i] for i in emitted)
    costs = sorted(max(0.0, c - overhead_ns) / 1e3 for c in costs_ns)
    return {"samples": len(samples), "timer_overhead_ns": overhead_ns,
            "p50_us": percentile(costs, 0.50), "p99_us": percentile(costs, 0.99),
            "p999_us": percentile(costs, 0.999), "worst_us": costs[-1],
            "worst_emitted_event": worst_i in set(emitted),
            "event_sample_p50_us": max(0.0, percentile(event_costs, 0.5) - overhead_ns) / 1e3,
            "events": len(emitted)}


class NaivePeakCounter:
    """What hobby counters do: keep the last ``NAIVE_WINDOW_S`` of a 1-D movement signal
    (|gyro| through an EMA) and, at every new sample, run ``scipy.signal.find_peaks`` with a
    prominence over the whole window. A new peak later than the last counted one is a rep.

    ``ring="numpy"`` (the default, the stronger baseline): a numpy ring written twice (at i
    and i + n), so the window is always one contiguous view and the only per-sample work is
    the find_peaks call. ``ring="deque"``: a ``collections.deque(maxlen=n)`` copied into an
    array at every sample, as the simplest hobby code does. ``ring="growing"``: every sample
    since the set began (no peak for ``NAIVE_SET_REST_S`` ends it) in a preallocated array,
    the whole of it searched at every sample: cost grows with the set. ``ring="session"``:
    the same, never emptied (everything since the start): cost grows with the session."""

    def __init__(self, rate_hz: float, ring: str = "numpy"):
        from scipy.signal import find_peaks

        self._find_peaks = find_peaks
        self.n = int(NAIVE_WINDOW_S * rate_hz)
        self.rate_hz = rate_hz
        self._buf = np.zeros(2 * self.n)
        self._i = 0
        self._deque: collections.deque[float] | None = None
        self._growing = ring in ("growing", "session")
        self._empties = ring == "growing"
        self._len = 0
        self._set_t0 = 0.0
        if ring == "deque":
            self._deque = collections.deque([0.0] * self.n, maxlen=self.n)
        elif ring not in ("numpy", "growing", "session"):
            raise ValueError(f"ring must be 'numpy', 'deque', 'growing' or 'session', not {ring!r}")
        self._alpha = 1.0 - math.exp(-1.0 / (rate_hz * NAIVE_TAU_S))
        self._distance = max(1, int(NAIVE_MIN_DISTANCE_S * rate_hz))
        self._lp = 0.0
        self._last_peak_t = -math.inf
        self.reps = 0

    def update(self, s: Sample) -> bool:
        """Feed one sample; True when it completes a rep."""
        lp = self._smooth(s)
        n = self.n
        if self._growing:
            if self._len == 0:
                self._set_t0 = s[0]
            elif self._empties and s[0] - max(self._last_peak_t, self._set_t0) > NAIVE_SET_REST_S:
                self._len, self._set_t0 = 0, s[0]   # the set is over: its buffer goes
            self._push(lp)
            n = self._len
            window = self._buf[:n]
        elif self._deque is not None:
            self._deque.append(lp)
            window = np.fromiter(self._deque, float, n)
        else:
            i = self._i
            self._buf[i] = self._buf[i + n] = lp
            i = i + 1 if i + 1 < n else 0
            self._i = i
            window = self._buf[i: i + n]   # oldest .. newest
        return self._new_peak(window, s[0], n)

    def prefill(self, samples: Sequence[Sample]) -> None:
        """``ring="session"`` only: take in ``samples`` as ``update`` would, without searching
        the buffer after each one (that costs O(n^2)); the state after the last sample is the
        same (its peaks are counted, none is left to count again)."""
        if not self._growing or self._empties:
            raise ValueError("prefill is for the whole-session buffer")
        for s in samples:
            self._push(self._smooth(s))
        if samples:
            self._new_peak(self._buf[:self._len], samples[-1][0], self._len)

    def _smooth(self, s: Sample) -> float:
        """|gyro| through the EMA: the 1-D signal the peaks are picked on."""
        self._lp += self._alpha * (math.sqrt(s[4] * s[4] + s[5] * s[5] + s[6] * s[6]) - self._lp)
        return self._lp

    def _push(self, x: float) -> None:
        """Append to the growing buffer (doubled when full)."""
        if self._len == len(self._buf):
            self._buf = np.concatenate([self._buf, np.zeros(len(self._buf))])
        self._buf[self._len] = x
        self._len += 1

    def _new_peak(self, window: np.ndarray, t_s: float, n: int) -> bool:
        peaks, _ = self._find_peaks(window, prominence=NAIVE_PROMINENCE_DPS, distance=self._distance)
        if len(peaks):
            t_peak = t_s - (n - 1 - int(peaks[-1])) / self.rate_hz
            if t_peak > self._last_peak_t + NAIVE_MIN_DISTANCE_S:
                self._last_peak_t = t_peak
                self.reps += 1
                return True
        return False


def naive_vs_ours(samples: list[Sample], rate_hz: float, timed_s: float) -> dict[str, float]:
    """The naive counter and ours on the same samples: both first see one full window
    (untimed, so the naive buffer is full: steady state), then the next ``timed_s`` seconds
    are timed. Short on purpose; throughput extrapolates."""
    warm_n = int(NAIVE_WINDOW_S * rate_hz)
    timed = samples[warm_n: warm_n + int(timed_s * rate_hz)]
    if len(timed) < int(timed_s * rate_hz):
        raise ValueError("not enough samples for the naive baseline")

    def naive_run_s(ring: str) -> float:
        naive = NaivePeakCounter(rate_hz, ring)
        for s in samples[:warm_n]:
            naive.update(s)
        t0 = time.perf_counter()
        for s in timed:
            naive.update(s)
        return time.perf_counter() - t0

    naive_s = naive_run_s("numpy")
    deque_s = naive_run_s("deque")
    growing_s = naive_run_s("growing")

    ours = CalfCounter()
    for s in samples[:warm_n]:
        ours.update(s)
    update = ours.update
    t0 = time.perf_counter()
    for s in timed:
        update(s)
    ours_s = time.perf_counter() - t0
    return {"seconds": timed_s, "samples": len(timed), "naive_sps": len(timed) / naive_s,
            "naive_deque_sps": len(timed) / deque_s, "ours_sps": len(timed) / ours_s,
            "naive_growing_sps": len(timed) / growing_s,
            "ratio": naive_s / ours_s, "ratio_deque": deque_s / ours_s, "ratio_growing": growing_s / ours_s}


def naive_over_a_session(samples: list[Sample], rate_hz: float, minutes: Sequence[float],
                         timed_n: int) -> dict[float, float]:
    """Throughput (samples/s) of the never-emptied naive counter ``minutes`` into a session:
    its buffer is filled with that much of ``samples``, then ``timed_n`` more are timed."""
    out = {}
    for m in minutes:
        fill = int(m * 60 * rate_hz)
        if fill + timed_n > len(samples):
            raise ValueError(f"not enough samples for a {m:g} min session")
        naive = NaivePeakCounter(rate_hz, "session")
        naive.prefill(samples[:fill])
        timed = samples[fill: fill + timed_n]
        t0 = time.perf_counter()
        for s in timed:
            naive.update(s)
        out[m] = timed_n / (time.perf_counter() - t0)
    return out


def _vmrss_kb(pid: int | str = "self", key: str = "VmRSS") -> int | None:
    """Resident set size (or another /proc status field) in kB; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))
    except (OSError, StopIteration, ValueError):
        return None


def replay_child(path: str, checkpoints: int = 50) -> None:
    """Run in the memory subprocess: replay ``path`` the way ``calfcount replay --json`` does
    (count, serialise every event) and print, as JSON, VmRSS at ``checkpoints`` points spread
    over the samples, so growth is measured against replay progress, not wall time."""
    size_b = os.path.getsize(path)
    counter = CalfCounter()
    update = counter.update
    marks: list[tuple[float, int]] = []
    next_mark_b = 0.0
    n = events = 0
    with open(os.devnull, "w", encoding="utf-8") as sink, TraceReader(path) as reader:
        for s in reader:
            for ev in update(s):
                sink.write(json.dumps(ev.to_dict()) + "\n")
                events += 1
            n += 1
            if not n & 1023:  # progress is read in bytes; cheap enough every 1024 samples
                done_b = reader.bytes_read
                if done_b >= next_mark_b:
                    marks.append((done_b / size_b, _vmrss_kb() or 0))
                    next_mark_b = done_b + size_b / checkpoints
        for ev in counter.finish():
            sink.write(json.dumps(ev.to_dict()) + "\n")
            events += 1
    marks.append((1.0, _vmrss_kb() or 0))
    # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so it would report the parent's
    # size at fork; the high-water mark belongs to this process image only.
    hwm_kb = _vmrss_kb(key="VmHWM") or 0
    print(json.dumps({"samples": n, "events": events, "marks": marks, "hwm_kb": hwm_kb}))


def memory(hours: float, paths: Sequence[str], rate_hz: float = BASE_RATE_HZ,
           poll_s: float = 0.1) -> dict[str, float]:
    """Resident memory of a subprocess replaying a ``hours``-long recording (the 100 Hz traces
    concatenated with shifted timestamps, written with ``TraceWriter``). VmRSS is read by the
    child at 2 % steps of the file and polled from outside every ``poll_s``."""
    n = int(hours * 3600 * rate_hz)
    with tempfile.TemporaryDirectory(prefix="calfcount-bench-") as tmp:
        path = os.path.join(tmp, "long.csv")
        write_trace(path, concatenated(paths, n, rate_hz)[:n], rate_hz)
        file_mb = os.path.getsize(path) / 2**20
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--replay-child", path],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        polled_kb = []
        while proc.poll() is None:
            kb = _vmrss_kb(proc.pid)
            if kb:
                polled_kb.append(kb)
            time.sleep(poll_s)
        out, err = proc.communicate()
        wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"replay subprocess failed: {err[-800:]}")
    child = json.loads(out.strip().splitlines()[-1])
    marks = child["marks"]
    first = marks[0][1] / 1024
    at10 = next(kb for frac, kb in marks if frac >= 0.1) / 1024
    after10 = [kb / 1024 for frac, kb in marks if frac >= 0.1]
    peak = max([child["hwm_kb"]] + polled_kb) / 1024
    return {"hours": hours, "samples": child["samples"], "events": child["events"], "file_mb": file_mb,
            "replay_wall_s": wall_s, "polls": len(polled_kb), "rss_start_mb": first, "rss_10pct_mb": at10,
            "rss_end_mb": marks[-1][1] / 1024, "rss_peak_mb": peak,
            "rss_growth_mb": max(after10) - at10}


def latency(traces_dir: str = TRACES_DIR, limit: int = 0) -> dict[str, Any]:
    """Sample time from the heel coming down (labels' rep ``end_s``) to the rep event's
    ``emitted_at_s``, over the labelled traces, matched with the shared scorer's ``match``."""
    score = load_scorer()
    label_files = sorted(glob.glob(os.path.join(traces_dir, "*.labels.json")))
    if limit:
        label_files = label_files[:limit]
    lat_s: list[float] = []
    true_n = pred_n = 0
    for lf in label_files:
        with open(lf, encoding="utf-8") as f:
            lab = json.load(f)
        reps = [e for e in CalfCounter().run(read_trace(os.path.join(traces_dir, lab["trace"])))
                if isinstance(e, RepEvent)]
        reps.sort(key=lambda r: (r.end_s, r.start_s))  # the order the scorer matches in
        pred = [{"start_s": r.start_s, "end_s": r.end_s} for r in reps]
        true = [r for s in lab["sets"] for r in s["reps"]]
        true_n += len(true)
        pred_n += len(pred)
        lat_s += [reps[pi].emitted_at_s - true[ti]["end_s"] for pi, ti in score.match(pred, true)]
    lat_s.sort()
    return {"traces": len(label_files), "true_reps": true_n, "pred_reps": pred_n, "latencies_s": lat_s,
            "latency_n": len(lat_s), "latency_p50_s": percentile(lat_s, 0.5),
            "latency_p99_s": percentile(lat_s, 0.99), "latency_max_s": lat_s[-1] if lat_s else math.nan,
            "late_share": sum(x > TARGETS["latency_p99_s"] for x in lat_s) / len(lat_s) if lat_s else math.nan}


# ---------------------------------------------------------------------------------------------
# the run and its report

def run(sizes: Sizes, traces_dir: str = TRACES_DIR, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Every measurement, as one plain dict."""
    t_start = time.perf_counter()
    report: dict[str, Any] = {"machine": machine(), "sizes": sizes.__dict__, "rates": {}}
    paths = traces_at(BASE_RATE_HZ, traces_dir)
    if not paths:
        raise SystemExit(f"no {BASE_RATE_HZ:g} Hz traces in {traces_dir}")
    longest_s = max(sizes.throughput_samples / min(RATES_HZ), sizes.cost_samples / BASE_RATE_HZ,
                    60.0 * max(sizes.session_min) + sizes.session_timed / BASE_RATE_HZ,
                    NAIVE_WINDOW_S + sizes.naive_s)
    base = concatenated(paths, int(longest_s * BASE_RATE_HZ) + 10, BASE_RATE_HZ)
    with one_core() as pinning, tempfile.TemporaryDirectory(prefix="calfcount-bench-") as tmp:
        report["machine"]["pinning"] = pinning
        for rate in RATES_HZ:
            log(f"throughput at {rate} Hz")
            arr = at_rate(base, BASE_RATE_HZ, rate, sizes.throughput_samples)
            path = os.path.join(tmp, f"r{rate}.csv")
            write_trace(path, arr, rate)
            samples = as_samples(arr)
            gc.collect()
            report["rates"][rate] = throughput(samples, path, sizes.repeats)
            del samples
        log("per-sample cost")
        base_samples = as_samples(base)
        report["cost"] = per_sample_cost(base_samples[: sizes.cost_samples])
        log("naive baseline")
        report["naive"] = naive_vs_ours(base_samples, BASE_RATE_HZ, sizes.naive_s)
        report["naive"]["session_sps"] = naive_over_a_session(base_samples, BASE_RATE_HZ, sizes.session_min,
                                                              sizes.session_timed)
        del base_samples
    log(f"memory over {sizes.memory_hours:g} h")
    report["memory"] = memory(sizes.memory_hours, paths)
    log("report delay")
    report["latency"] = latency(traces_dir, sizes.latency_traces)
    report["elapsed_s"] = time.perf_counter() - t_start
    return report


def checks(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(figure, measured, target, ok) for every target."""
    out = []
    for rate, x in r["rates"].items():
        out.append((f"full pipeline at {rate} Hz", f"{x['pipeline_sps']:,.0f} samples/s",
                    f">= {TARGETS['pipeline_sps']:,.0f}", x["pipeline_sps"] >= TARGETS["pipeline_sps"]))
    nv, c, mem, lat = r["naive"], r["cost"], r["memory"], r["latency"]
    out.append(("ours / naive find_peaks", f"{nv['ratio']:.1f}x", f">= {TARGETS['naive_ratio']:.0f}x",
                nv["ratio"] >= TARGETS["naive_ratio"]))
    out.append(("per-sample cost p99", f"{c['p99_us']:.1f} us", f"<= {TARGETS['p99_us']:.0f} us",
                c["p99_us"] <= TARGETS["p99_us"]))
    out.append((f"RSS growth over {mem['hours']:g} h", f"{mem['rss_growth_mb']:.2f} MB",
                f"<= {TARGETS['rss_growth_mb']:.0f} MB", mem["rss_growth_mb"] <= TARGETS["rss_growth_mb"]))
    out.append(("rep event p99 after heel down", f"{lat['latency_p99_s']:.2f} s",
                f"<= {TARGETS['latency_p99_s']} s", lat["latency_p99_s"] <= TARGETS["latency_p99_s"]))
    return out


def format_report(r: dict[str, Any]) -> tuple[str, list[str]]:
    """The printed table, and the names of the missed targets."""
    m, c, nv, mem, lat = r["machine"], r["cost"], r["naive"], r["memory"], r["latency"]
    w = 48
    lines = [
        "calfcount benchmark: figures measured on this machine",
        f"  CPU       {m['cpu']} ({m['cores']} cores; speed runs {m.get('pinning', 'not pinned')})",
        f"  Python    {m['python']}   numpy {m['numpy']}   scipy {m['scipy']}",
        f"  OPENBLAS_CORETYPE {m['openblas_coretype']}   load average (1 min) at start {m['load_avg_1min']}"
        + ("  <- other work is running: speed figures will be low and noisy"
           if float(m["load_avg_1min"]) > 0.5 else ""),
        "",
        f"{'throughput, one core':<{w}}{'pipeline (file->events)':>26}{'counter alone':>16}{'reps':>7}",
    ]
    for rate, x in r["rates"].items():
        label = f"  {rate} Hz ({x['samples']:,} samples)"
        lines.append(f"{label:<{w}}{x['pipeline_sps']:>18,.0f} smp/s{x['counter_sps']:>10,.0f} smp/s{x['reps']:>7}")
    pi = PI_ZERO_2W_SLOWDOWN
    r100 = r["rates"].get(100) or next(iter(r["rates"].values()))
    rows = [
        ("per-sample update() cost",
         f"p50 {c['p50_us']:.1f} us, p99 {c['p99_us']:.1f} us, p99.9 {c['p999_us']:.1f} us"),
        ("  worst pause", f"{c['worst_us']:.0f} us ({'a rep-ending sample' if c['worst_emitted_event'] else 'not a rep-ending sample'}; "
                          f"{c['samples']:,} samples, timer overhead {c['timer_overhead_ns']:.0f} ns removed)"),
        ("  samples that end a rep (p50)", f"{c['event_sample_p50_us']:.0f} us over {c['events']} events"),
        (f"naive find_peaks, {NAIVE_WINDOW_S:g} s window, {nv['seconds']:g} s",
         f"{nv['naive_sps']:,.0f} smp/s vs ours {nv['ours_sps']:,.0f} smp/s on the same samples: {nv['ratio']:.1f}x"),
        ("  same, deque copied to an array each sample",
         f"{nv['naive_deque_sps']:,.0f} smp/s: ours {nv['ratio_deque']:.1f}x (information; target uses the numpy ring)"),
        ("  same, growing buffer (the whole set so far)",
         f"{nv['naive_growing_sps']:,.0f} smp/s: ours {nv['ratio_growing']:.1f}x (information: grows with the set)"),
        ("  same, never emptied (whole session so far)",
         ", ".join(f"after {m:g} min {sps:,.0f} smp/s: ours {nv['ours_sps'] / sps:.0f}x"
                   for m, sps in nv["session_sps"].items()) + " (information)"),
        (f"memory, {mem['hours']:g} h replay ({mem['samples']:,} samples)",
         f"RSS start {mem['rss_start_mb']:.1f} MB, at 10 % {mem['rss_10pct_mb']:.1f}, end {mem['rss_end_mb']:.1f}, "
         f"peak {mem['rss_peak_mb']:.1f}; growth 10->100 % {mem['rss_growth_mb']:.2f} MB"),
        (f"rep event delay after heel down ({lat['latency_n']} reps)",
         f"p50 {lat['latency_p50_s']:.2f} s, p99 {lat['latency_p99_s']:.2f} s, max {lat['latency_max_s']:.2f} s; "
         f"{100 * lat['late_share']:.1f} % later than {TARGETS['latency_p99_s']} s"),
        (f"Pi Zero 2 W at 100 Hz (assumed {pi:g}x slower)",
         f"counter {100 * 100 * pi / r100['counter_sps']:.2f} % of a core, with CSV parsing "
         f"{100 * 100 * pi / r100['pipeline_sps']:.2f} %; worst pause ~{c['worst_us'] * pi / 1e3:.1f} ms "
         f"of the 10 ms sample period"),
    ]
    lines.append("")
    lines += [f"{name:<{w}}{value}" for name, value in rows]
    lines += ["", f"{'target':<{w}}{'measured':>24}  {'target':<14}result"]
    failed = []
    for name, measured, target, ok in checks(r):
        lines.append(f"{'  ' + name:<{w}}{measured:>24}  {target:<14}{'PASS' if ok else 'FAIL'}")
        if not ok:
            failed.append(name)
    lines.append(f"\n(benchmark took {r['elapsed_s']:.0f} s)")
    return "\n".join(lines), failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="calfcount benchmarks (figures for this machine).")
    ap.add_argument("--quick", action="store_true", help="shorter runs (under a minute)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    ap.add_argument("--replay-child", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.replay_child:
        replay_child(args.replay_child)
        return 0
    report = run(QUICK if args.quick else FULL, log=lambda msg: print(f"... {msg}", file=sys.stderr, flush=True))
    text, failed = format_report(report)
    print(text)
    if args.json:
        report["latency"] = {k: v for k, v in report["latency"].items() if k != "latencies_s"}
        print(json.dumps(report, default=str))
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
