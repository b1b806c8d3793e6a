"""Shared test fixtures: where the labelled traces live (../shared/traces beside the repo)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_TRACES = Path(os.environ.get("CALFCOUNT_TRACES", REPO.parent / "shared" / "traces"))
SHARED_SCORER = REPO.parent / "shared" / "tools" / "score.py"


@pytest.fixture(scope="session")
def traces_dir() -> Path:
    if not any(SHARED_TRACES.glob("*.labels.json")):
        pytest.skip(f"labelled traces not found in {SHARED_TRACES}")
    return SHARED_TRACES
