"""The judged path end to end: the shared scorer runs ``calfcount replay {trace} --json``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCORER = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "score.py"


def test_scorer_accepts_replay_output(traces_dir: Path, tmp_path: Path) -> None:
    if not SCORER.exists():
        pytest.skip(f"scorer not found at {SCORER}")
    for name in ("trace_017", "trace_022"):
        for suffix in (".csv", ".labels.json"):
            shutil.copy(traces_dir / (name + suffix), tmp_path / (name + suffix))
    cli = f"{sys.executable} -m firmware.cli replay {{trace}} --json"
    cp = subprocess.run([sys.executable, str(SCORER), "--pred-cmd", cli, "--traces", str(tmp_path), "--json"],
                        capture_output=True, text=True, timeout=300,
                        cwd=Path(__file__).resolve().parents[2], env={**os.environ})
    assert cp.returncode == 0, cp.stderr
    overall = json.loads(cp.stdout)["overall"]
    assert overall["unparsed_lines"] == 0
    assert overall["latency_events"] == overall["matched"] > 40
    assert overall["rep_precision"] > 0.75
