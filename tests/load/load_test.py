"""Load on the page: phones holding event streams and a stream of reads while a recording
replays fast. Reports rep delivery delay, request latency, errors and memory.

    python tests/load/load_test.py                      # 20 phones, 50 reads/s, 60 s, replay at 10x
    python tests/load/load_test.py --seconds 5 --clients 5 --rps 20

Everything stays on 127.0.0.1; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

TRACE = os.path.join(os.environ.get("CALFCOUNT_TRACES", os.path.join(os.path.dirname(REPO), "shared", "traces")),
                     "trace_022.csv")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(seconds: float = 60.0, clients: int = 20, rps: float = 50.0, speed: float = 10.0) -> dict[str, Any]:
    from web import create_app, make_server, stop_server
    from web.live import LiveSession
    from web.replayer import TraceReplayer
    from web.store import HistoryStore

    live = LiveSession(store=HistoryStore(":memory:"))
    counted_at: dict[tuple[int, int, int], float] = {}
    live.add_listener(lambda ev: counted_at.__setitem__((live.session_id, ev["set"], ev["rep"]), time.monotonic())
                      if ev["type"] == "rep" else None)
    server = make_server(create_app(live), host="127.0.0.1", port=0, threads=clients + 16)
    port = server.effective_port
    loop = threading.Thread(target=server.run, daemon=True, name="load-server")
    loop.start()

    stop = threading.Event()
    delays: list[float] = []
    req_ms: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    streams_open = threading.Semaphore(0)

    def phone(i: int) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds + 10)
            conn.request("GET", "/api/events")
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"events: HTTP {resp.status}")
            streams_open.release()
            event = ""
            while not stop.is_set():
                line = resp.fp.readline()
                if not line:
                    raise RuntimeError("stream closed by the server")
                text = line.decode().rstrip("\n")
                if text.startswith("event: "):
                    event = text[7:]
                elif text.startswith("data: ") and event == "rep":
                    ev = json.loads(text[6:])
                    t = counted_at.get((live.session_id, ev["set"], ev["rep"]))
                    if t is not None:
                        with lock:
                            delays.append(time.monotonic() - t)
            conn.close()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none may pass silently
            if not stop.is_set():
                with lock:
                    errors.append(f"phone {i}: {e}")

    def reader(k: int, period_s: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        next_t = time.monotonic()
        n = 0
        while not stop.is_set():
            path = "/api/state" if n % 2 == 0 else "/api/sessions"
            t0 = time.monotonic()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
                with lock:
                    req_ms.append((time.monotonic() - t0) * 1000)
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"reader {k} {path}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            n += 1
            next_t += period_s
            stop.wait(max(0.0, next_t - time.monotonic()))
        conn.close()

    rss0 = rss_mb()
    phones = [threading.Thread(target=phone, args=(i,), daemon=True) for i in range(clients)]
    for t in phones:
        t.start()
    for _ in range(clients):
        if not streams_open.acquire(timeout=10):
            errors.append("an event stream did not open")
            break
    n_readers = 4
    readers = [threading.Thread(target=reader, args=(k, n_readers / rps), daemon=True) for k in range(n_readers)]
    replay = TraceReplayer(live, TRACE, speed=speed, loop=True)
    t_start = time.monotonic()
    replay.start()
    for t in readers:
        t.start()
    stop.wait(seconds)
    stop.set()
    replay.stop()
    elapsed = time.monotonic() - t_start
    for t in readers:
        t.join(5)
    rss1 = rss_mb()
    live.close()  # ends the event streams, so waitress's workers finish
    stop_server(server, loop_thread=loop)  # (closing its sockets from here broke its select: EBADF)
    return {
        "seconds": round(elapsed, 1), "clients": clients, "target_rps": rps,
        "reads": len(req_ms), "reads_per_s": round(len(req_ms) / elapsed, 1),
        "read_p50_ms": round(pct(req_ms, 0.5), 2), "read_p99_ms": round(pct(req_ms, 0.99), 2),
        "reps_counted": len(counted_at), "rep_deliveries": len(delays),
        "rep_delay_p50_ms": round(pct(delays, 0.5) * 1000, 1), "rep_delay_p99_ms": round(pct(delays, 0.99) * 1000, 1),
        "rep_delay_max_ms": round(max(delays) * 1000, 1) if delays else float("nan"),
        "errors": errors[:10], "error_count": len(errors),
        "rss_start_mb": round(rss0, 1), "rss_end_mb": round(rss1, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rps", type=float, default=50.0)
    ap.add_argument("--speed", type=float, default=10.0)
    args = ap.parse_args()
    if not (0 < args.seconds <= 600 and 1 <= args.clients <= 100 and 0 < args.rps <= 500):
        print("load_test: --seconds 0..600, --clients 1..100, --rps 0..500", file=sys.stderr)
        return 2
    r = run(args.seconds, args.clients, args.rps, args.speed)
    print(f"{r['clients']} event streams, {r['reads_per_s']} reads/s (target {r['target_rps']}) for {r['seconds']} s, "
          f"replay at {args.speed:g}x")
    print(f"reads: {r['reads']}, latency p50 {r['read_p50_ms']} ms, p99 {r['read_p99_ms']} ms")
    print(f"reps counted {r['reps_counted']}, delivered {r['rep_deliveries']} times: delay p50 "
          f"{r['rep_delay_p50_ms']} ms, p99 {r['rep_delay_p99_ms']} ms, max {r['rep_delay_max_ms']} ms")
    print(f"errors: {r['error_count']} {r['errors']}")
    print(f"memory: {r['rss_start_mb']} -> {r['rss_end_mb']} MB")
    ok = r["error_count"] == 0 and r["rep_delay_max_ms"] <= 500
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
