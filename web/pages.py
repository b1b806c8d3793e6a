"""HTML pages: the live page and the history page. Data comes from the JSON API."""
from __future__ import annotations

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
    return render_template("history.html", csrf_token=current_app.config["CSRF_TOKEN"])
