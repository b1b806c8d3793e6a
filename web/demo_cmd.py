"""``calfcount demo``: the live page fed by a bundled recording, on any laptop."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from web.serve_cmd import add_page_arguments, open_page

DEMO_TRACE = os.path.join(os.path.dirname(__file__), "demo", "standing-4x.csv.gz")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from counter.replay import add_counter_arguments

    p.add_argument("--trace", default=DEMO_TRACE, help="trace to replay (default: bundled standing session, 4 sets)")
    p.add_argument("--speed", type=float, default=1.0, help="replay speed, x real time (default 1)")
    p.add_argument("--once", action="store_true", help="stop after one pass instead of looping")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for phones on the LAN)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free one; the URL is printed)")
    add_page_arguments(p, ":memory:", None)  # looping demos stay out of the real history
    p.add_argument("--print-reps", action="store_true", help="print each rep as it is counted (and stored)")
    add_counter_arguments(p)


def main(args: argparse.Namespace) -> int:
    from counter.replay import config_from_args
    from counter.trace import TraceError, TraceReader
    from web import stop_server, urls_for
    from web.replayer import TraceReplayer

    try:
        config = config_from_args(args)
        if not 0 <= args.speed <= 1000:
            raise ValueError(f"--speed must be within 0..1000, got {args.speed}")
        with TraceReader(args.trace):
            pass  # header problems show here, before the server starts
    except (ValueError, TraceError) as e:
        print(f"calfcount demo: {e}", file=sys.stderr)
        return 2
    opened = open_page(args, "demo", config)
    if isinstance(opened, int):
        return opened
    live, server = opened
    if args.print_reps:
        # Listeners run after the rep is in the history, so a printed rep is a stored rep.
        live.add_listener(lambda ev: print(f"rep set={ev['set']} rep={ev['rep']} end_s={ev['end_s']}", flush=True)
                          if ev["type"] == "rep" else None)
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
        stop_server(server, loop_thread=web_thread)
        print("calfcount demo: stopped", flush=True)
    return 0
