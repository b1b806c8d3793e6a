"""``calfcount serve``: the page and the history, without a sensor."""
from __future__ import annotations

import argparse
import os
import signal

DEFAULT_DB = os.path.join(os.path.expanduser("~"), ".local", "share", "calfcount", "history.sqlite3")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all, for phones on the LAN)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--db", default=DEFAULT_DB, help="history database (default %(default)s)")
    p.add_argument("--pin", default=os.environ.get("CALFCOUNT_PIN"), help="PIN required for controls (or $CALFCOUNT_PIN)")


def main(args: argparse.Namespace) -> int:
    from web import create_app, page_urls, serve
    from web.live import LiveSession
    from web.store import HistoryStore

    live = LiveSession(store=HistoryStore(args.db))
    app = create_app(live, pin=args.pin)
    print("calfcount: page at", " or ".join(page_urls(args.port)), flush=True)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # unwinds waitress; the finally below closes the session
    signal.signal(signal.SIGTERM, on_term)
    try:
        serve(app, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    finally:
        live.close()
    return 0
