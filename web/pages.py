"""HTML pages: the live page and the history page. Data comes from the JSON API."""
from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template

from web.live import EXERCISES

bp = Blueprint("pages", __name__)

EXERCISE_NAMES = {
    "standing": "Standing", "single_leg": "Single-leg", "seated": "Seated", "donkey": "Donkey",
    "hack_squat": "Hack squat", "leg_press": "Leg press", "farmers_walk": "Farmer's walk on toes",
}


@bp.get("/")
def live_page() -> str:
    return render_template("live.html", csrf_token=current_app.config["CSRF_TOKEN"],
                           pin_required=bool(current_app.config.get("CALFCOUNT_PIN")),
                           exercises=[(e, EXERCISE_NAMES[e]) for e in EXERCISES])


@bp.get("/history")
def history_page() -> str:
    """Rendered here (escaped by Jinja), so it needs no script and shows user text as text."""
    sessions = current_app.extensions["calfcount.live"].store.sessions()
    for s in sessions:
        s["started"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(s["started_wall"]))
        s["exercise_name"] = EXERCISE_NAMES.get(s["exercise"], s["exercise"])
    return render_template("history.html", csrf_token=current_app.config["CSRF_TOKEN"], sessions=sessions)
