"""calfcount's phone page: a Flask app that is a thin view over a ``LiveSession``.

    app = create_app(live)            # live: web.live.LiveSession
    serve(app, host="0.0.0.0", port=8000)

All assets are served by the app itself (no CDN): the page works on the Pi's own hotspot.
"""
from __future__ import annotations

import hmac
import secrets
import socket
import subprocess
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from web.live import LiveSession
from web.store import HistoryStore

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def create_app(live: LiveSession | None = None, store: HistoryStore | None = None,
               pin: str | None = None, **config: Any) -> Flask:
    """Build the app around ``live`` (a new in-memory session if None).

    ``pin``: when set, every control request must carry it (header ``X-PIN``).
    Other keyword arguments go into ``app.config`` (e.g. ``TESTING=True``).
    """
    app = Flask(__name__)
    if live is None:
        live = LiveSession(store=store)
    app.config.update(
        MAX_CONTENT_LENGTH=16 * 1024,
        SSE_KEEPALIVE_S=15.0,
        CSRF_TOKEN=secrets.token_urlsafe(32),
        CALFCOUNT_PIN=pin or None,
        PIN_MAX_FAILURES=5,
        PIN_WINDOW_S=60.0,
    )
    app.config.update(config)
    app.extensions["calfcount.live"] = live
    app.extensions["calfcount.pin_failures"] = {}

    from web.api import bp as api_bp
    from web.pages import bp as pages_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(api_bp)

    @app.after_request
    def security_headers(resp):  # type: ignore[no-untyped-def]
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            return jsonify(error=e.name, message=e.description), e.code
        return e

    @app.errorhandler(Exception)
    def unexpected(e: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unexpected error on %s", request.path)
        return jsonify(error="Internal Server Error", message="the server hit an unexpected error"), 500

    return app


def get_live(app: Flask) -> LiveSession:
    return app.extensions["calfcount.live"]


def check_pin(app: Flask, given: str | None) -> bool:
    want = app.config.get("CALFCOUNT_PIN")
    if not want:
        return True
    return hmac.compare_digest((given or "").encode(), str(want).encode())


def page_urls(port: int) -> list[str]:
    """Addresses a phone on the same network can open: the mDNS name, then the IP addresses
    (some phones do not resolve ``.local``). Read from the system, nothing is sent."""
    urls = [f"http://{socket.gethostname()}.local:{port}"]
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for ip in out.split():
        if "." in ip and not ip.startswith("127."):
            urls.append(f"http://{ip}:{port}")
    return urls


def serve(app: Flask, host: str = "0.0.0.0", port: int = 8000, threads: int = 32) -> None:
    """Serve with waitress: one thread per open event stream, so threads = phones + spare."""
    from waitress import serve as waitress_serve

    waitress_serve(app, host=host, port=port, threads=threads, channel_timeout=60, ident="calfcount")


__all__ = ["create_app", "serve", "get_live", "page_urls", "LiveSession", "HistoryStore"]
