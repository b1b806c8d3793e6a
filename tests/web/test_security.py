"""The page on a shared gym Wi-Fi: escaping, no debug console, fuzzed parameters never 500."""
from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_a_note_with_script_renders_as_text(client: FlaskClient, csrf: dict[str, str]) -> None:
    evil = "<script>alert(1)</script>"
    r = client.post("/api/session/note", data=json.dumps({"note": evil}), headers=csrf,
                    content_type="application/json")
    assert r.status_code == 200
    page = client.get("/history").data.decode()
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert client.get("/api/sessions").get_json()[0]["note"] == evil  # data kept as typed


def test_no_debug_console(app: Flask, client: FlaskClient) -> None:
    assert not app.debug
    assert client.get("/console").status_code == 404
    r = client.get("/api/sessions/1/../../../etc/passwd")
    assert r.status_code == 404


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10)


@FUZZ
@given(path=st.sampled_from(["/api/exercise", "/api/target", "/api/carry/target", "/api/session/note",
                             "/api/set/start", "/api/rep/undo"]),
       body=st.one_of(json_values, st.dictionaries(st.sampled_from(["exercise", "sets", "reps", "seconds", "note"]),
                                                   json_values, max_size=3)))
def test_fuzzed_control_bodies_never_500(client: FlaskClient, csrf: dict[str, str], path: str, body: object) -> None:
    r = client.post(path, data=json.dumps(body), headers=csrf, content_type="application/json")
    assert r.status_code in (200, 400), (path, body, r.status_code)
    assert "message" in r.get_json() or r.get_json().get("ok")


@FUZZ
@given(raw=st.binary(max_size=200))
def test_fuzzed_raw_bodies_never_500(client: FlaskClient, csrf: dict[str, str], raw: bytes) -> None:
    r = client.post("/api/target", data=raw, headers=csrf)
    assert r.status_code == 400


@pytest.mark.parametrize("limit", ["\u00b2", "\u0663", "-1", "1e3", " 5"])
def test_a_limit_that_is_not_plain_digits_is_refused(client: FlaskClient, limit: str) -> None:
    """'²' passes str.isdigit() yet int() refuses it; the API takes ASCII digits only."""
    r = client.get("/api/sessions", query_string={"limit": limit})
    assert r.status_code == 400
    assert "limit" in r.get_json()["message"]


@FUZZ
@given(q=st.text(max_size=20), sid=st.integers(min_value=-10, max_value=10**12))
def test_fuzzed_reads_never_500(client: FlaskClient, q: str, sid: int) -> None:
    assert client.get("/api/sessions", query_string={"limit": q}).status_code in (200, 400)
    assert client.get(f"/api/sessions/{sid}").status_code in (200, 404)
    assert client.get(f"/api/sessions/{sid}.csv").status_code in (200, 404)
