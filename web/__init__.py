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
import threading
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
    if live is None:
        live = LiveSession(store=store)
    elif store is not None and store is not live.store:
        raise ValueError("create_app: store must be the live session's store (or None)")
    app = Flask(__name__)
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
    """The live session an app was built around."""
    return app.extensions["calfcount.live"]


def check_pin(app: Flask, given: str | None) -> bool:
    """True if no PIN is configured or ``given`` is it (constant-time compare)."""
    want = app.config.get("CALFCOUNT_PIN")
    if not want:
        return True
    return hmac.compare_digest((given or "").encode(), str(want).encode())


def page_urls(port: int) -> list[str]:
    """Addresses a phone on the same network can open: the mDNS name, then the IP addresses
    (some phones do not resolve ``.local``). Read from the system, nothing is sent."""
    urls = [f"http://{socket.gethostname()}.local:{port}"]
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=2, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for ip in out.split():
        if "." in ip and not ip.startswith("127."):
            urls.append(f"http://{ip}:{port}")
    return urls


def urls_for(host: str, port: int) -> list[str]:
    """What to open for a server listening on ``host``: every address when it listens on all."""
    if host in ("0.0.0.0", "::", ""):
        return page_urls(port)
    return [f"http://{host}:{port}"]


def make_server(app: Flask, host: str = "0.0.0.0", port: int = 8000, threads: int = 24) -> Any:
    """A waitress server, already listening (a busy port fails here, with OSError); call
    ``.run()`` (blocks) and ``.close()``. ``port=0`` picks a free port (``.effective_port``).

    Each open event stream holds a worker thread: ``threads`` = phones expected + spare.
    """
    from waitress import create_server

    return create_server(app, host=host, port=port, threads=threads, channel_timeout=60, ident="calfcount")


def stop_server(server: Any, timeout_s: float = 5.0, loop_thread: threading.Thread | None = None) -> None:
    """Stop a ``make_server`` server: its workers first (end the event streams before, with
    ``LiveSession.close``), then every socket, which ends ``run()``.

    ``loop_thread``: the thread running ``server.run()``, if it still runs. The sockets are
    then closed from inside that loop (through waitress's trigger) and the thread joined:
    closing them from here would pull them from under its ``select()`` (EBADF)."""
    from waitress import trigger, wasyncore

    server.task_dispatcher.shutdown(timeout=timeout_s)
    sockets = getattr(server, "map", None)  # several listening sockets
    if sockets is None:
        sockets = server._map
    wake = next((d for d in list(sockets.values()) if isinstance(d, trigger.trigger)), None)
    if loop_thread is not None and loop_thread.is_alive() and wake is not None:
        try:
            wake.pull_trigger(lambda: wasyncore.close_all(sockets))
        except OSError:  # the trigger is gone: the loop is closing down on its own
            wasyncore.close_all(sockets, ignore_all=True)
        loop_thread.join(timeout_s)
    else:
        wasyncore.close_all(sockets)


def serve(app: Flask, host: str = "0.0.0.0", port: int = 8000, threads: int = 24,
          announce: bool = False) -> None:
    """Serve with waitress until interrupted (see ``make_server``).

    ``announce``: print the page's addresses first (``http://<hostname>.local:PORT`` and the
    IP addresses; some phones do not resolve ``.local``).
    """
    server = make_server(app, host, port, threads)
    if announce:
        print("calfcount: page at", " or ".join(urls_for(host, int(getattr(server, "effective_port", port)))),
              flush=True)
    try:
        server.run()
    finally:
        stop_server(server)


__all__ = ["HistoryStore", "LiveSession", "create_app", "get_live", "make_server", "page_urls", "serve", "stop_server", "urls_for"]
