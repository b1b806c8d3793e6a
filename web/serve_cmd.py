"""``calfcount serve``: the page and the history, without a sensor (e.g. to browse history)."""
from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys

DEFAULT_DB = os.path.join(os.path.expanduser("~"), ".local", "share", "calfcount", "history.sqlite3")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all, for phones on the LAN)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--db", default=DEFAULT_DB, help="history database (default %(default)s)")
    p.add_argument("--rest-target-s", type=float, default=60.0,
                   help="rest the page counts down between sets, s (default 60)")
    p.add_argument("--threads", type=int, default=24, help="web worker threads: one per open phone, plus spare")
    p.add_argument("--pin", default=os.environ.get("CALFCOUNT_PIN"), help="PIN required for controls (or $CALFCOUNT_PIN)")


def main(args: argparse.Namespace) -> int:
    from web import create_app, make_server, stop_server, urls_for
    from web.live import LiveSession
    from web.store import HistoryStore

    if not 10 <= args.rest_target_s <= 600:
        print(f"calfcount serve: --rest-target-s must be within 10..600, got {args.rest_target_s:g}", file=sys.stderr)
        return 2
    try:
        live = LiveSession(store=HistoryStore(args.db), rest_target_s=args.rest_target_s)
    except (sqlite3.Error, OSError, RuntimeError) as e:
        print(f"calfcount serve: history database {args.db}: {e}", file=sys.stderr)
        return 2
    app = create_app(live, pin=args.pin)
    try:
        server = make_server(app, host=args.host, port=args.port, threads=args.threads)
    except OSError as e:  # port in use, address not here
        print(f"calfcount serve: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        live.close()
        return 2
    port = int(getattr(server, "effective_port", args.port))
    print("calfcount: page at", " or ".join(urls_for(args.host, port)), flush=True)

    def on_stop(signum: int, frame: object) -> None:
        live.close()  # ends the event streams first, so waitress's workers can finish
        raise KeyboardInterrupt  # unwinds waitress's loop
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        live.close()
        stop_server(server)
    return 0
