"""JSON API behind the page.

Read-only (no PIN needed):
    GET  /api/state                  counter state: set, reps, flags, sets, rest, sensor, plot
    GET  /api/events                 Server-Sent Events: rep, set_end, set_start, undo, state,
                                     sensor, plot, session, carry_start, carry_end
    GET  /api/sessions               sessions, newest first, with totals against the target
    GET  /api/sessions/<id>          one session: sets, reps (times, tempo, flags), carries
    GET  /api/sessions/<id>.csv      its reps as CSV
    GET  /api/export.csv             every counted rep as CSV
Controls (POST, header X-CSRF-Token from the page; X-PIN when a PIN is set):
    POST /api/set/start | /api/set/end | /api/set/toggle
    POST /api/session/new
    POST /api/rep/undo
    POST /api/exercise     {"exercise": "standing" | "single_leg" | ... | "farmers_walk"}
    POST /api/target       {"sets": 1..10, "reps": 1..100, "rest_target_s": 10..600 (optional)}
    POST /api/carry/start | /api/carry/stop
    POST /api/carry/target {"seconds": 5..1800}
    POST /api/session/note {"note": "text, up to 500 characters"}
Errors are JSON ``{"error": ..., "message": ...}`` with a 4xx status.
"""
from __future__ import annotations

import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    request,
    stream_with_context,
)

from web import check_pin, get_live
from web.live import EXERCISES

bp = Blueprint("api", __name__, url_prefix="/api")


# -- guards ---------------------------------------------------------------------------------
@bp.before_request
def guard_controls() -> Any:
    """Every POST: same-site only (Sec-Fetch-Site, Origin), the page's ``X-CSRF-Token``
    header, and the ``X-PIN`` header when a PIN is configured (5 wrong PINs a minute per
    client, then 429)."""
    if request.method != "POST":
        return None
    # Cross-site requests: a browser says so (Sec-Fetch-Site) or shows a foreign Origin; and
    # only the page served here knows the token.
    site = request.headers.get("Sec-Fetch-Site")
    if site not in (None, "same-origin", "none"):
        abort(403, description="cross-site request refused")
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        abort(403, description="cross-origin request refused")
    token = request.headers.get("X-CSRF-Token", "")
    if not hmac.compare_digest(token.encode(), current_app.config["CSRF_TOKEN"].encode()):
        abort(403, description="missing or wrong X-CSRF-Token (reload the page)")
    if current_app.config.get("CALFCOUNT_PIN"):
        failures: dict[str, list[float]] = current_app.extensions["calfcount.pin_failures"]
        client = request.remote_addr or "?"
        now = time.monotonic()
        window = current_app.config["PIN_WINDOW_S"]
        recent = [t for t in failures.get(client, []) if now - t < window]
        if len(recent) >= current_app.config["PIN_MAX_FAILURES"]:
            abort(429, description=f"too many wrong PINs; try again in {int(window)} s")
        if not check_pin(current_app, request.headers.get("X-PIN")):
            recent.append(now)
            failures[client] = recent[-20:]
            if len(failures) > 1000:  # bounded, whatever clients do
                failures.pop(next(iter(failures)))
            abort(401, description="PIN required (header X-PIN)")
        failures.pop(client, None)
    return None


def _json_body() -> dict[str, Any]:
    if not request.data:
        return {}
    try:
        body = json.loads(request.data)
    except (ValueError, UnicodeDecodeError):
        abort(400, description="body is not valid JSON")
    if not isinstance(body, dict):
        abort(400, description="body must be a JSON object")
    return body


def _int_field(body: dict[str, Any], name: str, lo: int, hi: int) -> int:
    v = body.get(name)
    if isinstance(v, bool) or not isinstance(v, int):
        abort(400, description=f"field '{name}' must be an integer")
    if not lo <= v <= hi:
        abort(400, description=f"field '{name}' must be within {lo}..{hi}, got {v}")
    return v


# -- reads ----------------------------------------------------------------------------------
@bp.get("/state")
def state() -> Any:
    """``GET /api/state``: the live state as JSON.

    The counter's snapshot (``target_sets``, ``target_reps``, ``set``, ``in_set``, ``reps``,
    ``current_flags``, ``sets`` [per finished set: ``set``, ``reps``, ``flags``, ``bouncing``,
    ``too_fast``, ...], ``target_met``, ``last_rep`` (a rep event), ``resting_since_s``,
    ``t_s``, ``signal``, ``phase``) plus ``session_id``, ``exercise``, ``sensor``
    {``status``, ``since_s``, ``detail``}, ``rest`` {``since_s``, ``elapsed_s``, ``target_s``}
    or null, ``rest_target_s``, ``plot`` [[t_s, value], ...] (10 Hz, last 30 s), ``rep_marks``
    [[end_s, flagged], ...], ``carry``, ``carries``, ``carry_target_s``, ``store_error``.
    All times are sample time in seconds.
    """
    return jsonify(get_live(current_app).snapshot())


@bp.get("/events")
def events() -> Response:
    """``GET /api/events``: Server-Sent Events, one JSON object per ``data:`` line.

    Starts with a ``: ok`` comment, then ``event: state`` (the full state, as /api/state).
    Then, as they happen: ``rep`` and ``set_end`` (the counter's events), ``state`` (the
    state after any change, without ``plot``), ``plot`` {``t_s``, ``value``} at 10 Hz,
    ``set_start``, ``undo``, ``sensor``, ``session``, ``gap``, ``carry_start``,
    ``carry_end``. A ``: keep-alive`` comment every 15 s. A slow client loses plot points
    first, never reps.
    """
    live = get_live(current_app)
    keepalive_s = float(current_app.config["SSE_KEEPALIVE_S"])
    sub = live.subscribe()
    first = live.snapshot()

    def stream() -> Iterator[str]:
        try:
            yield ": ok\n\n"
            yield "retry: 2000\n\n"
            yield f"event: state\ndata: {json.dumps({'type': 'state', 'state': first})}\n\n"
            while not sub.closed:
                ev = sub.get(timeout_s=keepalive_s)
                if ev is None:
                    # Also how a phone that went away is noticed: the write fails.
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n"
        finally:
            sub.close()

    resp = Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    # A generator closed before its first step never runs its finally: close here as well.
    resp.call_on_close(sub.close)
    return resp


@bp.get("/sessions")
def sessions() -> Any:
    """``GET /api/sessions?limit=100``: sessions, newest first, each with ``id``,
    ``started_wall``/``ended_wall`` (Unix time), ``end_reason``, ``exercise``, ``note``,
    ``target_sets``, ``target_reps`` and totals: ``reps``, ``sets_done``, ``full_sets``,
    ``bouncing``, ``too_fast``, ``carries``, ``target_met``."""
    limit = request.args.get("limit", "100")
    # isascii(): str.isdigit() also accepts superscripts like '²', which int() refuses.
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 1000:
        abort(400, description="'limit' must be an integer within 1..1000")
    return jsonify(get_live(current_app).store.sessions(int(limit)))


@bp.get("/sessions/<int:session_id>")
def session(session_id: int) -> Any:
    """``GET /api/sessions/<id>``: one session with its ``sets``, ``reps`` (``set_number``,
    ``rep``, ``start_s``, ``top_s``, ``end_s``, tempo ``lift_s``/``hold_s``/``lower_s``,
    ``rom_deg``, ``flags``, ``undone``) and ``carries``; 404 if unknown."""
    s = get_live(current_app).store.session(session_id)
    if s is None:
        abort(404, description=f"no session {session_id}")
    return jsonify(s)


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/sessions/<int:session_id>.csv")
def session_csv(session_id: int) -> Response:
    """``GET /api/sessions/<id>.csv``: the session's counted reps, one row each (columns:
    session, session_started, exercise, set, rep, start_s, top_s, end_s, lift_s, hold_s,
    lower_s, rom_deg, bouncing, too_fast)."""
    store = get_live(current_app).store
    if store.session(session_id) is None:
        abort(404, description=f"no session {session_id}")
    return _csv(store.export_csv(session_id), f"calfcount-session-{session_id}.csv")


@bp.get("/export.csv")
def export_csv() -> Response:
    """``GET /api/export.csv``: every counted rep of every session, same columns."""
    return _csv(get_live(current_app).store.export_csv(), "calfcount-history.csv")


# -- controls -------------------------------------------------------------------------------
def _ok(**extra: Any) -> Any:
    return jsonify(ok=True, state=get_live(current_app).snapshot(), **extra)


@bp.post("/set/start")
def set_start() -> Any:
    """``POST /api/set/start``: open a set now. Every control answers
    ``{"ok": true, "state": {...}}`` (plus ``changed``: whether anything happened)."""
    return _ok(changed=get_live(current_app).start_set())


@bp.post("/set/end")
def set_end() -> Any:
    """``POST /api/set/end``: close the open set (reason ``manual``)."""
    return _ok(changed=get_live(current_app).end_set())


@bp.post("/set/toggle")
def set_toggle() -> Any:
    """``POST /api/set/toggle``: what the button does: start a set or end the open one."""
    get_live(current_app).toggle_set()
    return _ok()


@bp.post("/session/new")
def session_new() -> Any:
    """``POST /api/session/new``: close the session under way, start a new one
    (answer has ``session_id``)."""
    return _ok(session_id=get_live(current_app).new_session())


@bp.post("/rep/undo")
def rep_undo() -> Any:
    """``POST /api/rep/undo``: remove the newest rep of the open set (history too)."""
    return _ok(changed=get_live(current_app).undo_last_rep())


@bp.post("/exercise")
def exercise() -> Any:
    """``POST /api/exercise`` ``{"exercise": name}``: standing, single_leg, seated, donkey,
    hack_squat, leg_press, farmers_walk."""
    name = _json_body().get("exercise")
    if name not in EXERCISES:
        abort(400, description=f"field 'exercise' must be one of {', '.join(EXERCISES)}")
    get_live(current_app).set_exercise(name)
    return _ok()


@bp.post("/target")
def target() -> Any:
    """``POST /api/target`` ``{"sets": 1..10, "reps": 1..100, "rest_target_s": 10..600}``:
    the target (3 x 15 by default) and, optionally, the rest the page counts down between
    sets (60 s by default)."""
    body = _json_body()
    sets = _int_field(body, "sets", 1, 10)
    reps = _int_field(body, "reps", 1, 100)
    rest_target_s = _int_field(body, "rest_target_s", 10, 600) if "rest_target_s" in body else None
    live = get_live(current_app)
    live.set_target(sets, reps)
    if rest_target_s is not None:
        live.set_rest_target(float(rest_target_s))
    return _ok()


@bp.post("/session/note")
def session_note() -> Any:
    """``POST /api/session/note`` ``{"note": text}``: a note on the session under way."""
    note = _json_body().get("note")
    if not isinstance(note, str) or len(note) > 500:
        abort(400, description="field 'note' must be text of at most 500 characters")
    live = get_live(current_app)
    live.store.update_session(live.session_id, note=note)
    return _ok()


@bp.post("/carry/start")
def carry_start() -> Any:
    """``POST /api/carry/start``: start timing a farmer's walk on toes (timed, not counted)."""
    return _ok(changed=get_live(current_app).start_carry())


@bp.post("/carry/stop")
def carry_stop() -> Any:
    """``POST /api/carry/stop``: stop it; answer has ``carry`` {``start_s``, ``duration_s``,
    ``steps``, ``target_s``, ``target_met``} (stored with the session)."""
    return _ok(carry=get_live(current_app).stop_carry())


@bp.post("/carry/target")
def carry_target() -> Any:
    """``POST /api/carry/target`` ``{"seconds": 5..1800}``: time on toes to aim for."""
    seconds = _int_field(_json_body(), "seconds", 5, 1800)
    get_live(current_app).set_carry_target(float(seconds))
    return _ok()
