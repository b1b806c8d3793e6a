"""The JSON API over a replayed session, the controls' protections, the event stream."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _next_event(chunks: Iterator[bytes], kind: str, limit: int = 1000) -> dict[str, Any]:
    """Read the stream until an event of ``kind``; no sleeping: each read blocks on the queue."""
    for _ in range(limit):
        text = next(chunks).decode()
        if text.startswith(f"event: {kind}\n"):
            return json.loads(text.split("data: ", 1)[1])
    raise AssertionError(f"no {kind} event in {limit} chunks")


def test_event_stream_delivers_a_scripted_rep(app: Flask, live: LiveSession, script: Any) -> None:
    resp = app.test_client().get("/api/events", buffered=False)
    assert resp.mimetype == "text/event-stream" and resp.headers["Cache-Control"] == "no-cache"
    chunks = iter(resp.response)
    assert next(chunks) == b": ok\n\n"
    first = _next_event(chunks, "state")
    assert first["state"]["reps"] == 0 and "plot" in first["state"]
    script.samples(1.0)
    counted = script.rep("bouncing")
    rep = _next_event(chunks, "rep")
    assert rep == counted and rep["flags"] == ["bouncing"]
    after = _next_event(chunks, "state")  # the state that goes with it, for the page
    assert after["state"]["reps"] == 1 and after["state"]["last_rep"]["flags"] == ["bouncing"]
    assert "plot" not in after["state"]  # plot points come on their own
    resp.close()
    assert live.subscriber_count == 0  # the stream cleaned up after itself


def test_event_stream_delivers_a_rep_from_a_trace(app: Flask, live: LiveSession, traces_dir: Path) -> None:
    first = next((e for e in _direct(traces_dir) if isinstance(e, RepEvent)), None)
    if first is None:
        pytest.skip("the detector counts no rep in this trace today (the scripted test covers the stream)")
    resp = app.test_client().get("/api/events", buffered=False)
    chunks = iter(resp.response)
    assert next(chunks).startswith(b": ok")
    for s in read_trace(traces_dir / TRACE):
        live.feed(s)
        if s.t_s >= first.emitted_at_s:
            break
    rep = _next_event(chunks, "rep", limit=5000)
    assert rep == first.to_dict()
    resp.close()
    assert live.subscriber_count == 0


def test_event_stream_closed_before_it_starts_unsubscribes(client: FlaskClient, live: LiveSession) -> None:
    resp = client.get("/api/events", buffered=False)
    assert live.subscriber_count == 1
    resp.close()  # the phone went away before a byte was sent
    assert live.subscriber_count == 0


def test_event_stream_keeps_alive_and_ends_with_the_session(live: LiveSession) -> None:
    app = create_app(live, TESTING=True, SSE_KEEPALIVE_S=0.01)
    resp = app.test_client().get("/api/events", buffered=False)
    chunks = iter(resp.response)
    texts = [next(chunks).decode() for _ in range(4)]
    assert texts[0] == ": ok\n\n" and texts[3] == ": keep-alive\n\n"
    live.close()
    rest = list(chunks)  # ends instead of blocking: the program is stopping
    assert all(t.startswith((b":", b"event: set_end", b"event: state", b"event: carry_end")) for t in rest)
    assert live.subscriber_count == 0


def test_csv_export_content(client: FlaskClient, live: LiveSession, script: Any) -> None:
    script.reps(2)
    script.rep("bouncing", "too_fast")
    live.end_set()
    r = client.get(f"/api/sessions/{live.session_id}.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == f'attachment; filename="calfcount-session-{live.session_id}.csv"'
    rows = list(csv.DictReader(io.StringIO(r.data.decode())))
    assert [(row["set"], row["rep"], row["exercise"]) for row in rows] == [("1", "1", "standing"), ("1", "2", "standing"),
                                                                          ("1", "3", "standing")]
    assert [(row["bouncing"], row["too_fast"]) for row in rows] == [("0", "0"), ("0", "0"), ("1", "1")]
    assert (rows[0]["lift_s"], rows[0]["hold_s"], rows[0]["lower_s"], rows[0]["rom_deg"]) == ("1.200", "0.300", "1.600", "4.000")
    assert (rows[2]["lift_s"], rows[2]["lower_s"]) == ("0.400", "0.400")
    sessions = client.get("/api/sessions").get_json()
    assert (sessions[0]["reps"], sessions[0]["sets_done"], sessions[0]["bouncing"], sessions[0]["too_fast"]) == (3, 1, 1, 1)
    assert sessions[0]["full_sets"] == 0 and sessions[0]["target_met"] is False


def test_target_and_rest_target(client: FlaskClient, csrf: dict[str, str], live: LiveSession) -> None:
    r = client.post("/api/target", json={"sets": 4, "reps": 10, "rest_target_s": 90}, headers=csrf)
    assert r.status_code == 200
    st = r.get_json()["state"]
    assert (st["target_sets"], st["target_reps"], st["rest_target_s"]) == (4, 10, 90.0)
    r = client.post("/api/target", json={"sets": 4, "reps": 10, "rest_target_s": 5}, headers=csrf)
    assert r.status_code == 400 and "rest_target_s" in r.get_json()["message"]
    assert live.snapshot()["rest_target_s"] == 90.0


def test_history_page_lists_sessions_against_the_target(client: FlaskClient, csrf: dict[str, str],
                                                        live: LiveSession, script: Any) -> None:
    client.post("/api/target", json={"sets": 1, "reps": 3}, headers=csrf)
    script.reps(3)
    live.end_set()
    first = live.session_id
    live.new_session()
    live.new_session()  # the one in between stays empty: not listed
    page = client.get("/history").data.decode()
    assert "1 / 1 × 3 ✓" in page and f"/api/sessions/{first}.csv" in page
    assert page.count('class="session"') == 2  # the full session and the one under way
    assert "in progress" in page
    listed = [s["id"] for s in client.get("/api/sessions").get_json()]
    assert listed == [live.session_id, first]
    assert client.get("/api/sessions/1").get_json()["target_reps"] == 3


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
