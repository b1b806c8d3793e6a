"""``calfcount demo``: the live page fed by a bundled recording, on any laptop."""
from __future__ import annotations

import argparse
import os
import sys
import threading

DEMO_TRACE = os.path.join(os.path.dirname(__file__), "demo", "standing-4x.csv.gz")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from counter.replay import add_counter_arguments

    p.add_argument("--trace", default=DEMO_TRACE, help="trace to replay (default: bundled standing session, 4 sets)")
    p.add_argument("--speed", type=float, default=1.0, help="replay speed, x real time (default 1)")
    p.add_argument("--once", action="store_true", help="stop after one pass instead of looping")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for phones on the LAN)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--db", default=":memory:", help="history database (default: in memory)")
    p.add_argument("--pin", default=None, help="PIN required for controls")
    add_counter_arguments(p)


def main(args: argparse.Namespace) -> int:
    from counter.replay import config_from_args
    from counter.trace import TraceError, TraceReader
    from web import create_app, page_urls, serve
    from web.live import LiveSession
    from web.replayer import TraceReplayer
    from web.store import HistoryStore

    try:
        config = config_from_args(args)
        if not 0 <= args.speed <= 1000:
            raise ValueError(f"--speed must be within 0..1000, got {args.speed}")
        with TraceReader(args.trace):
            pass  # header problems show here, before the server starts
    except (ValueError, TraceError) as e:
        print(f"calfcount demo: {e}", file=sys.stderr)
        return 2
    live = LiveSession(config, HistoryStore(args.db))
    app = create_app(live, pin=args.pin)
    replayer = TraceReplayer(live, args.trace, speed=args.speed, loop=not args.once)
    replayer.start()
    urls = [f"http://{args.host if args.host != '0.0.0.0' else '127.0.0.1'}:{args.port}"]
    if args.host == "0.0.0.0":
        urls += page_urls(args.port)
    print("calfcount demo: replaying", os.path.basename(args.trace), f"at {args.speed:g}x; open",
          " or ".join(urls), flush=True)
    server = threading.Thread(target=serve, args=(app,), kwargs={"host": args.host, "port": args.port},
                              daemon=True, name="calfcount-web")
    server.start()
    try:
        while not replayer.done.wait(0.5):
            pass
        if replayer.error is not None:
            print(f"calfcount demo: {replayer.error}", file=sys.stderr)
            return 1
        print("calfcount demo: replay finished; the page stays up (Ctrl-C to stop)", flush=True)
        server.join()
    except KeyboardInterrupt:
        pass
    finally:
        replayer.stop()
        live.close()
    return 0
