"""The generalisation checks script (``tests/counter/checks.py``): its changed recordings are
what they claim to be, and its scoring agrees with the accuracy test's."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checks  # noqa: E402

from counter.trace import read_trace  # noqa: E402

TRACE = "trace_017.csv"  # seated, 200 Hz, one set


@pytest.fixture(scope="module")
def recording(traces_dir: Path) -> np.ndarray:
    return np.array(list(read_trace(traces_dir / TRACE)), dtype=float)


@pytest.mark.parametrize("rate_hz", [25, 50, 400])
def test_resampled_at_the_new_rate_with_the_same_motion(recording: np.ndarray, rate_hz: int) -> None:
    out = checks.CHECKS[f"rate{rate_hz}"][0](recording, 1)
    assert np.allclose(np.diff(out[:, 0]), 1.0 / rate_hz)
    assert abs(out[-1, 0] - recording[-1, 0]) <= 1.0 / rate_hz
    # Averaged over its interval, a sample keeps the slow motion: gravity's mean is unchanged,
    # and so is the length of gravity at the first and last samples (no edge of zeros).
    assert np.allclose(out[:, 1:4].mean(axis=0), recording[:, 1:4].mean(axis=0), atol=2e-3)
    for i in (0, -1):
        assert abs(np.linalg.norm(out[i, 1:4]) - np.linalg.norm(recording[i, 1:4])) < 0.02


def test_drops_jitter_and_noise_change_what_they_say(recording: np.ndarray) -> None:
    dropped = checks.CHECKS["drop1"][0](recording, 1)
    assert 0.005 < 1 - len(dropped) / len(recording) < 0.015
    jittered = checks.CHECKS["jitter2"][0](recording, 1)
    assert np.all(np.diff(jittered[:, 0]) > 0)
    assert 0.0005 < np.abs(jittered[:, 0] - recording[:, 0]).max() <= 0.002
    noisy = checks.CHECKS["noise5"][0](recording, 1)
    assert 0.004 < (noisy[:, 1:4] - recording[:, 1:4]).std() < 0.006
    assert 0.4 < (noisy[:, 4:7] - recording[:, 4:7]).std() < 0.6


def test_chip_faults_and_the_mirrored_frame_change_what_they_say(recording: np.ndarray) -> None:
    offset = checks.EXTRA["abias40"][0](recording, 1)[:, 1:4] - recording[:, 1:4]
    assert np.allclose(offset, offset[0]) and np.linalg.norm(offset[0]) == pytest.approx(0.040)
    scaled = checks.EXTRA["ascale1.03"][0](recording, 1)
    assert np.allclose(scaled[:, 1:4], 1.03 * recording[:, 1:4]) and np.allclose(scaled[:, 4:7], recording[:, 4:7])
    drift = checks.EXTRA["gdrift3"][0](recording, 1)[:, 4:7] - recording[:, 4:7]
    assert np.linalg.norm(drift[0]) == pytest.approx(0.0, abs=1e-9)
    assert np.linalg.norm(drift[-1]) == pytest.approx(3.0)
    mirrored = checks.EXTRA["mirror"][0](recording, 1)
    assert np.allclose(np.linalg.norm(mirrored[:, 1:4], axis=1), np.linalg.norm(recording[:, 1:4], axis=1))
    assert np.allclose(mirrored[:, 1], -recording[:, 1]) and np.allclose(mirrored[:, 4], recording[:, 4])
    assert np.allclose(mirrored[:, 5:7], -recording[:, 5:7])
    assert np.allclose(np.diff(checks.EXTRA["rate120"][0](recording, 1)[:, 0]), 1.0 / 120)


def test_retimed_labels_follow_the_clock(traces_dir: Path) -> None:
    lab = json.loads((traces_dir / TRACE.replace(".csv", ".labels.json")).read_text())
    slow = checks._retimed(lab, 1.3)
    rep, slow_rep = lab["sets"][0]["reps"][3], slow["sets"][0]["reps"][3]
    assert slow_rep["end_s"] == pytest.approx(1.3 * rep["end_s"])
    assert slow["sets"][0]["start_s"] == pytest.approx(1.3 * lab["sets"][0]["start_s"])
    assert lab["sets"][0]["reps"][3]["end_s"] == rep["end_s"]  # the original is left alone


def test_scores_the_recording_as_the_accuracy_test_does(traces_dir: Path) -> None:
    if not checks.SCORER.exists():
        pytest.skip(f"scorer not found at {checks.SCORER}")
    res = checks.score_one("recorded", str(traces_dir / TRACE.replace(".csv", ".labels.json")))
    lab = json.loads((traces_dir / TRACE.replace(".csv", ".labels.json")).read_text())
    assert res["true_reps"] == sum(len(s["reps"]) for s in lab["sets"])
    assert res["matched"] >= res["true_reps"] - 1
    assert res["walking_reps"] == 0
