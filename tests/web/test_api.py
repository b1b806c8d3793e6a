"""The JSON API over a replayed session, the controls' protections, the event stream."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from counter import CalfCounter, RepEvent, SetEndEvent
from counter.trace import read_trace
from web import create_app
from web.live import LiveSession

TRACE = "trace_024.csv"  # as in conftest.py


def _direct(traces_dir: Path) -> list:
    counter = CalfCounter()
    return [e for s in read_trace(traces_dir / TRACE) for e in counter.update(s)]


def test_state_matches_a_direct_replay(client: FlaskClient, replayed: LiveSession, traces_dir: Path) -> None:
    events = _direct(traces_dir)
    direct_sets = [e.reps for e in events if isinstance(e, SetEndEvent) and e.reason != "discarded"]
    state = client.get("/api/state").get_json()
    assert [s["reps"] for s in state["sets"]] == direct_sets
    last = [e for e in events if isinstance(e, RepEvent)][-1]
    assert state["last_rep"]["end_s"] == pytest.approx(last.end_s, abs=1e-3)
    assert state["target_sets"] == 3 and state["target_reps"] == 15
    assert len(state["plot"]) > 100
    assert sum(len(s["flags"]) for s in state["sets"]) == sum(s["reps"] for s in state["sets"])


def test_history_and_csv_hold_every_counted_rep(client: FlaskClient, replayed: LiveSession) -> None:
    replayed.end_set()
    sessions = client.get("/api/sessions").get_json()
    assert len(sessions) == 1
    sid = sessions[0]["id"]
    detail = client.get(f"/api/sessions/{sid}").get_json()
    counted = [r for r in detail["reps"] if not r["undone"]]
    assert sessions[0]["reps"] == len(counted) == sum(s["reps"] for s in detail["sets"])
    resp = client.get(f"/api/sessions/{sid}.csv")
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.data.decode())))
    assert len(rows) == len(counted)
    assert {r["set"] for r in rows} == {str(s["number"]) for s in detail["sets"]}
    assert sum(int(r["bouncing"]) for r in rows) == sum(s["bouncing"] for s in detail["sets"])
    all_rows = list(csv.DictReader(io.StringIO(client.get("/api/export.csv").data.decode())))
    assert len(all_rows) == len(rows)


def test_controls_need_the_page_token(client: FlaskClient, csrf: dict[str, str]) -> None:
    assert client.post("/api/set/start").status_code == 403
    assert client.post("/api/set/start", headers={"X-CSRF-Token": "forged"}).status_code == 403
    r = client.post("/api/set/start", headers={**csrf, "Origin": "http://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.get_json()["message"]
    r = client.post("/api/set/start", headers={**csrf, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    r = client.post("/api/set/start", headers={**csrf, "Origin": "http://localhost"})
    assert r.status_code == 200 and r.get_json()["state"]["in_set"] is True


def test_controls_need_the_pin_when_set(live: LiveSession) -> None:
    app = create_app(live, pin="4711", TESTING=True)
    c = app.test_client()
    tok = {"X-CSRF-Token": app.config["CSRF_TOKEN"]}
    assert c.post("/api/set/start", headers=tok).status_code == 401
    assert c.post("/api/set/start", headers={**tok, "X-PIN": "0000"}).status_code == 401
    assert c.post("/api/set/start", headers={**tok, "X-PIN": "4711"}).status_code == 200
    for _ in range(5):
        assert c.post("/api/set/end", headers={**tok, "X-PIN": "1"}).status_code == 401
    r = c.post("/api/set/end", headers={**tok, "X-PIN": "4711"})
    assert r.status_code == 429  # rate-limited, even with the right PIN, for a while
    assert c.get("/api/state").status_code == 200  # reading needs no PIN


@pytest.mark.parametrize("path, body, needle", [
    ("/api/exercise", {"exercise": "squat"}, "exercise"),
    ("/api/exercise", ["standing"], "JSON object"),
    ("/api/target", {"sets": 0, "reps": 15}, "sets"),
    ("/api/target", {"sets": 3, "reps": "15"}, "reps"),
    ("/api/target", {"sets": True, "reps": 15}, "sets"),
    ("/api/carry/target", {"seconds": 1e9}, "seconds"),
])
def test_bad_parameters_are_4xx_with_a_message(client: FlaskClient, csrf: dict[str, str], path: str,
                                               body: object, needle: str) -> None:
    r = client.post(path, data=json.dumps(body), headers=csrf, content_type="application/json")
    assert r.status_code == 400
    assert needle in r.get_json()["message"]


def test_other_bad_requests(client: FlaskClient, csrf: dict[str, str]) -> None:
    assert client.post("/api/target", data=b"{not json", headers=csrf).status_code == 400
    assert client.get("/api/sessions/999").status_code == 404
    assert client.get("/api/sessions/999.csv").status_code == 404
    assert client.get("/api/sessions?limit=abc").status_code == 400
    assert client.get("/api/nope").get_json()["error"] == "Not Found"
    assert client.get("/api/set/start").status_code == 405
    big = client.post("/api/target", data=b"x" * 100_000, headers=csrf)
    assert big.status_code == 413


def test_commands_change_state(client: FlaskClient, csrf: dict[str, str], replayed: LiveSession) -> None:
    before = client.get("/api/state").get_json()
    assert before["in_set"]  # the last set of the recording is still open
    undone = client.post("/api/rep/undo", headers=csrf).get_json()
    assert undone["changed"] and undone["state"]["reps"] == before["reps"] - 1
    client.post("/api/exercise", data=json.dumps({"exercise": "single_leg"}), headers=csrf,
                content_type="application/json")
    client.post("/api/target", data=json.dumps({"sets": 4, "reps": 12}), headers=csrf,
                content_type="application/json")
    st = client.post("/api/set/end", headers=csrf).get_json()["state"]
    assert (st["exercise"], st["target_sets"], st["target_reps"], st["in_set"]) == ("single_leg", 4, 12, False)
    new = client.post("/api/session/new", headers=csrf).get_json()
    assert new["state"]["sets"] == [] and new["session_id"] != before["session_id"]
    sessions = client.get("/api/sessions").get_json()
    assert [s["exercise"] for s in sessions] == ["single_leg", "single_leg"]  # the new one keeps it
    assert [s["target_reps"] for s in sessions] == [12, 12]


def test_farmers_walk_is_timed(client: FlaskClient, csrf: dict[str, str], live: LiveSession, traces_dir: Path) -> None:
    samples = list(read_trace(traces_dir / TRACE))[:3000]  # 30 s at 100 Hz
    live.feed_many(samples[:1000])
    client.post("/api/exercise", data=json.dumps({"exercise": "farmers_walk"}), headers=csrf,
                content_type="application/json")
    assert client.post("/api/carry/start", headers=csrf).get_json()["changed"]
    live.feed_many(samples[1000:3000])
    done = client.post("/api/carry/stop", headers=csrf).get_json()["carry"]
    assert done["duration_s"] == pytest.approx(20.0, abs=0.05)
    detail = client.get(f"/api/sessions/{live.session_id}").get_json()
    assert detail["carries"][0]["duration_s"] == pytest.approx(20.0, abs=0.05)


def test_event_stream_delivers_a_rep(app: Flask, live: LiveSession, traces_dir: Path) -> None:
    resp = app.test_client().get("/api/events", buffered=False)
    assert resp.mimetype == "text/event-stream"
    chunks = iter(resp.response)
    assert next(chunks).startswith(b": ok")
    for s in list(read_trace(traces_dir / TRACE))[:1500]:  # the first reps are within 15 s
        live.feed(s)
    seen = []
    for chunk in chunks:
        text = chunk.decode()
        if text.startswith("event: rep"):
            rep = json.loads(text.split("data: ", 1)[1])
            assert rep["set"] == 1 and rep["rep"] == 1
            break
        seen.append(text[:20])
        assert len(seen) < 1000, "no rep event in the stream"
    resp.close()
    assert live.subscriber_count == 0  # the stream cleaned up after itself


def test_pages_and_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/history"):
        r = client.get(path)
        assert r.status_code == 200
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert b"<script>" not in r.data  # no inline script
    assert client.get("/static/live.js").status_code == 200
    assert b"http" not in client.get("/static/calfcount.css").data  # nothing fetched from elsewhere
