"""Fixtures for the page and API: a live session, the app around it, a test client."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from counter.trace import read_trace
from web import create_app
from web.live import LiveSession
from web.store import HistoryStore

TRACE = "trace_024.csv"  # standing, 2 sets of 15, bouncing and fast reps


@pytest.fixture
def live() -> Iterator[LiveSession]:
    session = LiveSession(store=HistoryStore(":memory:"))
    yield session
    session.close()


@pytest.fixture
def app(live: LiveSession) -> Flask:
    return create_app(live, TESTING=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def csrf(app: Flask) -> dict[str, str]:
    return {"X-CSRF-Token": app.config["CSRF_TOKEN"]}


@pytest.fixture
def replayed(live: LiveSession, traces_dir: Path) -> LiveSession:
    live.feed_many(read_trace(traces_dir / TRACE))
    return live
