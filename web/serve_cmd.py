"""``calfcount serve``: the page and the history, without a sensor (e.g. to browse history)."""
from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from typing import Any

DEFAULT_DB = os.path.join(os.path.expanduser("~"), ".local", "share", "calfcount", "history.sqlite3")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all, for phones on the LAN)")
    p.add_argument("--port", type=int, default=8000)
    add_page_arguments(p, DEFAULT_DB, os.environ.get("CALFCOUNT_PIN"))


def add_page_arguments(p: argparse.ArgumentParser, default_db: str, default_pin: str | None) -> None:
    """Options of every command that serves the page (``serve``, ``demo``)."""
    p.add_argument("--db", default=default_db, help="history database (default %(default)s)")
    p.add_argument("--rest-target-s", type=float, default=60.0,
                   help="rest the page counts down between sets, s (default 60)")
    p.add_argument("--threads", type=int, default=24, help="web worker threads: one per open phone, plus spare")
    p.add_argument("--pin", default=default_pin, help="PIN required for controls (or $CALFCOUNT_PIN)")


def open_page(args: argparse.Namespace, command: str, config: Any = None) -> tuple[Any, Any] | int:
    """The live session and a listening server for ``args``, or an exit status after a
    one-line error (bad option, unusable database, port in use)."""
    from web import create_app, make_server
    from web.live import LiveSession
    from web.store import HistoryStore

    if not 10 <= args.rest_target_s <= 600:
        print(f"calfcount {command}: --rest-target-s must be within 10..600, got {args.rest_target_s:g}",
              file=sys.stderr)
        return 2
    try:
        live = LiveSession(config, HistoryStore(args.db), rest_target_s=args.rest_target_s)
    except (sqlite3.Error, OSError, RuntimeError) as e:
        print(f"calfcount {command}: history database {args.db}: {e}", file=sys.stderr)
        return 2
    try:
        server = make_server(create_app(live, pin=args.pin), host=args.host, port=args.port, threads=args.threads)
    except OSError as e:  # port in use, address not here
        live.close()
        print(f"calfcount {command}: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    return live, server


def main(args: argparse.Namespace) -> int:
    from web import stop_server, urls_for

    opened = open_page(args, "serve")
    if isinstance(opened, int):
        return opened
    live, server = opened
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
