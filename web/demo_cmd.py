"""``calfcount demo``: the live page fed by a bundled recording, on any laptop."""
from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import threading

DEMO_TRACE = os.path.join(os.path.dirname(__file__), "demo", "standing-4x.csv.gz")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from counter.replay import add_counter_arguments

    p.add_argument("--trace", default=DEMO_TRACE, help="trace to replay (default: bundled standing session, 4 sets)")
    p.add_argument("--speed", type=float, default=1.0, help="replay speed, x real time (default 1)")
    p.add_argument("--once", action="store_true", help="stop after one pass instead of looping")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for phones on the LAN)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free one; the URL is printed)")
    p.add_argument("--rest-target-s", type=float, default=60.0,
                   help="rest the page counts down between sets, s (default 60)")
    p.add_argument("--threads", type=int, default=24, help="web worker threads: one per open phone, plus spare")
    p.add_argument("--db", default=":memory:", help="history database (default: in memory)")
    p.add_argument("--pin", default=None, help="PIN required for controls")
    p.add_argument("--print-reps", action="store_true", help="print each rep as it is counted (and stored)")
    add_counter_arguments(p)


def main(args: argparse.Namespace) -> int:
    from counter.replay import config_from_args
    from counter.trace import TraceError, TraceReader
    from web import create_app, make_server, stop_server, urls_for
    from web.live import LiveSession
    from web.replayer import TraceReplayer
    from web.store import HistoryStore

    try:
        config = config_from_args(args)
        if not 0 <= args.speed <= 1000:
            raise ValueError(f"--speed must be within 0..1000, got {args.speed}")
        if not 10 <= args.rest_target_s <= 600:
            raise ValueError(f"--rest-target-s must be within 10..600, got {args.rest_target_s:g}")
        with TraceReader(args.trace):
            pass  # header problems show here, before the server starts
    except (ValueError, TraceError) as e:
        print(f"calfcount demo: {e}", file=sys.stderr)
        return 2
    try:
        live = LiveSession(config, HistoryStore(args.db), rest_target_s=args.rest_target_s)
    except (sqlite3.Error, OSError, RuntimeError) as e:
        print(f"calfcount demo: history database {args.db}: {e}", file=sys.stderr)
        return 2
    if args.print_reps:
        # Listeners run after the rep is in the history, so a printed rep is a stored rep.
        live.add_listener(lambda ev: print(f"rep set={ev['set']} rep={ev['rep']} end_s={ev['end_s']}", flush=True)
                          if ev["type"] == "rep" else None)
    app = create_app(live, pin=args.pin)
    try:
        server = make_server(app, host=args.host, port=args.port, threads=args.threads)
    except OSError as e:  # port in use, address not here
        print(f"calfcount demo: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        live.close()
        return 2
    stop = threading.Event()

    def on_term(signum: int, frame: object) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, on_term)
    replayer = TraceReplayer(live, args.trace, speed=args.speed, loop=not args.once)
    replayer.start()
    port = int(getattr(server, "effective_port", args.port))
    urls = urls_for(args.host, port)
    if args.host == "0.0.0.0":
        urls.insert(0, f"http://127.0.0.1:{port}")
    print("calfcount demo: replaying", os.path.basename(args.trace), f"at {args.speed:g}x; open",
          " or ".join(urls), flush=True)
    web_thread = threading.Thread(target=server.run, daemon=True, name="calfcount-web")
    web_thread.start()
    try:
        while not replayer.done.wait(0.2) and not stop.is_set():
            pass
        if replayer.error is not None:
            print(f"calfcount demo: {replayer.error}", file=sys.stderr)
            return 1
        if not stop.is_set():
            print("calfcount demo: replay finished; the page stays up (Ctrl-C to stop)", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        replayer.stop()
        replayer.done.wait(2.0)
        live.close()  # closes the set and the session: a SIGTERM (systemd stop) ends cleanly
        stop_server(server)
        print("calfcount demo: stopped", flush=True)
    return 0
