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
    POST /api/target       {"sets": 1..10, "reps": 1..100}
    POST /api/carry/start | /api/carry/stop
    POST /api/carry/target {"seconds": 5..1800}
    POST /api/session/note {"note": "text, up to 500 characters"}
Errors are JSON ``{"error": ..., "message": ...}`` with a 4xx status.
"""
from __future__ import annotations

import hmac
import json
import time
from typing import Any, Iterator

from flask import Blueprint, Response, abort, current_app, jsonify, request, stream_with_context

from web import check_pin, get_live
from web.live import EXERCISES

bp = Blueprint("api", __name__, url_prefix="/api")


# -- guards ---------------------------------------------------------------------------------
@bp.before_request
def guard_controls() -> Any:
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
    return jsonify(get_live(current_app).snapshot())


@bp.get("/events")
def events() -> Response:
    live = get_live(current_app)
    keepalive_s = float(current_app.config["SSE_KEEPALIVE_S"])
    sub = live.subscribe()
    first = live.snapshot()

    def stream() -> Iterator[str]:
        try:
            yield ": ok\n\n"
            yield "retry: 2000\n\n"
            yield f"event: state\ndata: {json.dumps({'type': 'state', 'state': first})}\n\n"
            while True:
                ev = sub.get(timeout_s=keepalive_s)
                if ev is None:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n"
        finally:
            sub.close()

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@bp.get("/sessions")
def sessions() -> Any:
    limit = request.args.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        abort(400, description="'limit' must be an integer within 1..1000")
    return jsonify(get_live(current_app).store.sessions(int(limit)))


@bp.get("/sessions/<int:session_id>")
def session(session_id: int) -> Any:
    s = get_live(current_app).store.session(session_id)
    if s is None:
        abort(404, description=f"no session {session_id}")
    return jsonify(s)


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/sessions/<int:session_id>.csv")
def session_csv(session_id: int) -> Response:
    store = get_live(current_app).store
    if store.session(session_id) is None:
        abort(404, description=f"no session {session_id}")
    return _csv(store.export_csv(session_id), f"calfcount-session-{session_id}.csv")


@bp.get("/export.csv")
def export_csv() -> Response:
    return _csv(get_live(current_app).store.export_csv(), "calfcount-history.csv")


# -- controls -------------------------------------------------------------------------------
def _ok(**extra: Any) -> Any:
    return jsonify(ok=True, state=get_live(current_app).snapshot(), **extra)


@bp.post("/set/start")
def set_start() -> Any:
    return _ok(changed=get_live(current_app).start_set())


@bp.post("/set/end")
def set_end() -> Any:
    return _ok(changed=get_live(current_app).end_set())


@bp.post("/set/toggle")
def set_toggle() -> Any:
    get_live(current_app).toggle_set()
    return _ok()


@bp.post("/session/new")
def session_new() -> Any:
    return _ok(session_id=get_live(current_app).new_session())


@bp.post("/rep/undo")
def rep_undo() -> Any:
    return _ok(changed=get_live(current_app).undo_last_rep())


@bp.post("/exercise")
def exercise() -> Any:
    name = _json_body().get("exercise")
    if name not in EXERCISES:
        abort(400, description=f"field 'exercise' must be one of {', '.join(EXERCISES)}")
    get_live(current_app).set_exercise(name)
    return _ok()


@bp.post("/target")
def target() -> Any:
    body = _json_body()
    sets = _int_field(body, "sets", 1, 10)
    reps = _int_field(body, "reps", 1, 100)
    get_live(current_app).set_target(sets, reps)
    return _ok()


@bp.post("/session/note")
def session_note() -> Any:
    note = _json_body().get("note")
    if not isinstance(note, str) or len(note) > 500:
        abort(400, description="field 'note' must be text of at most 500 characters")
    live = get_live(current_app)
    live.store.update_session(live.session_id, note=note)
    return _ok()


@bp.post("/carry/start")
def carry_start() -> Any:
    return _ok(changed=get_live(current_app).start_carry())


@bp.post("/carry/stop")
def carry_stop() -> Any:
    return _ok(carry=get_live(current_app).stop_carry())


@bp.post("/carry/target")
def carry_target() -> Any:
    seconds = _int_field(_json_body(), "seconds", 5, 1800)
    get_live(current_app).set_carry_target(float(seconds))
    return _ok()
