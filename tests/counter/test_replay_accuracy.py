"""Replay every labelled trace and score it with the shared scorer.

The figures are printed (run with ``-s`` to see them) and README's accuracy table comes from
them. The floors asserted here are regression guards below today's figures, not the product
target (see README, "Accuracy").
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from counter.events import RepEvent
from counter.pipeline import CalfCounter
from counter.trace import read_trace

SHARED_SCORER = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "score.py"



def _load_scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calfcount_score", SHARED_SCORER)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def scored(traces_dir: Path) -> dict:
    if not SHARED_SCORER.exists():
        pytest.skip(f"scorer not found at {SHARED_SCORER}")
    score = _load_scorer()
    results, walking_reps, per, reps_by_trace, intervals_s = [], 0, [], {}, []
    for lf in sorted(traces_dir.glob("*.labels.json")):
        lab = json.loads(lf.read_text())
        events = list(CalfCounter().run(read_trace(traces_dir / lab["trace"])))
        text = "\n".join(json.dumps(e.to_dict()) for e in events)
        pred, bad = score.parse_events(text, lf.name)
        assert bad == 0
        res = score.score_trace(lab, pred)
        results.append(res)
        intervals_s.append(1.0 / lab["sample_rate_hz"])
        reps = reps_by_trace[lab["trace"]] = [e for e in events if isinstance(e, RepEvent)]
        for d in lab["distractors"]:
            if d["kind"] == "walking":
                walking_reps += sum(d["start_s"] <= r.end_s <= d["end_s"] for r in reps)
        per.append((lab["trace"], lab["exercise"], res["set_count_errors"]))
    summary = score.summarize(results)
    print("\ncalfcount accuracy on", len(results), "labelled traces:")
    for name, ex, errs in per:
        print(f"  {name:<16} {ex:<11} set count errors {errs}")
    print(f"  rep precision {summary['rep_precision']:.3f}  recall {summary['rep_recall']:.3f}")
    print(f"  sets exact {summary['sets_exact_share']:.3f}  within 1 {summary['sets_within1_share']:.3f}")
    print(f"  traces with the right number of sets {summary['set_count_accuracy']:.3f}")
    for fl in ("bouncing", "too_fast"):
        f = summary["flags"][fl]
        print(f"  {fl:<9} precision {f['precision'] or 0:.3f}  recall {f['recall'] or 0:.3f}")
    print(f"  reps counted during walking: {walking_reps}")
    lat = sorted(x for r in results for x in r["latencies"])
    print(f"  report delay after heel-down: median {summary['median_latency_s']:.3f} s, "
          f"p90 {lat[int(0.9 * len(lat))]:.3f} s, p99 {lat[int(0.99 * len(lat))]:.3f} s")
    return {"summary": summary, "walking_reps": walking_reps, "results": results, "per_trace": per,
            "reps": reps_by_trace, "intervals_s": intervals_s}


def test_rep_detection_floor(scored: dict) -> None:
    s = scored["summary"]
    assert s["rep_precision"] >= 0.92
    assert s["rep_recall"] >= 0.975


def test_no_rep_is_reported_twice(scored: dict) -> None:
    """One rep seen by both channels, or by one channel in two pieces, is one event: no two
    reported reps cover the same movement (overlap by half the shorter, the scorer's rule)."""
    twice = []
    for trace, reps in scored["reps"].items():
        for a, b in zip(reps, reps[1:]):
            overlap_s = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
            if overlap_s >= 0.5 * min(a.end_s - a.start_s, b.end_s - b.start_s):
                twice.append((trace, a.start_s, b.start_s))
    assert twice == []


def test_set_count_floor(scored: dict) -> None:
    s = scored["summary"]
    assert s["sets_exact_share"] >= 0.85
    assert s["sets_within1_share"] >= 0.89


def test_no_set_is_far_off(scored: dict) -> None:
    """A set of small-tilt leg-press reps (1-1.5 deg, too small to count alone) starts once a
    rep like the session's earlier sets comes after a quiet leg (its second set is still 4
    short); sway in single-leg sets still adds up to three."""
    worst = max((abs(e), name) for name, _, errs in scored["per_trace"] for e in errs)
    assert worst[0] <= 4, worst


def test_flag_floor(scored: dict) -> None:
    f = scored["summary"]["flags"]
    assert (f["too_fast"]["precision"] or 0) >= 0.95
    assert (f["too_fast"]["recall"] or 0) >= 0.95
    assert (f["bouncing"]["precision"] or 0) >= 0.97
    assert (f["bouncing"]["recall"] or 0) >= 0.88


def test_no_reps_while_walking(scored: dict) -> None:
    """A step carries the leg along the floor (1.3-2.4 g across gravity while walking; a rep's
    tilt and lift, < 0.25 g): none of the walking in the recordings is counted."""
    assert scored["walking_reps"] == 0


def test_reps_reported_soon_after_heel_down(scored: dict) -> None:
    """Reps are reported within 0.5 s of the heel coming down, 99 % of them, give or take the
    sample the report falls on: the counter speaks only at a sample, so a report it decides on
    0.485 s after heel-down at 50 Hz goes out at 0.501 s (trace 23, 179.2-183.6 s). The few
    that are later (6 of 687 on the recordings) are reps timed by a tilt that goes on turning
    after the heel is down (a single leg's wobble), reps only V timed that wait for a tilt that
    barely turns back, and a set's first rep counted when its second confirms it."""
    lat = sorted(x for r in scored["results"] for x in r["latencies"])
    assert lat[len(lat) // 2] <= 0.2
    assert lat[int(0.9 * len(lat))] <= 0.4
    late = sum(x > 0.5 + dt_s for r, dt_s in zip(scored["results"], scored["intervals_s"]) for x in r["latencies"])
    assert late <= 0.01 * len(lat), f"{late} of {len(lat)} reps reported over 0.5 s after heel down"
