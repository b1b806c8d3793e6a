"""``calfcount replay TRACE.csv``: run a recording through the counter."""
from __future__ import annotations

import argparse
import json
import sys
from typing import IO

from counter.config import CounterConfig
from counter.events import BOUNCING, TOO_FAST, RepEvent, SetEndEvent
from counter.pipeline import CalfCounter
from counter.trace import TraceError, TraceReader


def add_counter_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that counts."""
    d = CounterConfig()
    p.add_argument("--target-sets", type=int, default=d.target_sets, help="sets in the target (default %(default)s)")
    p.add_argument("--target-reps", type=int, default=d.target_reps, help="reps per set (default %(default)s)")
    p.add_argument("--too-fast-s", type=float, default=d.too_fast_s,
                   help="flag a rep whose lift + lower is shorter than this, s (default %(default)s)")
    p.add_argument("--rest-s", type=float, default=d.rest_s,
                   help="a set ends after this long without a rep, s (default %(default)s)")


def config_from_args(args: argparse.Namespace) -> CounterConfig:
    return CounterConfig(target_sets=args.target_sets, target_reps=args.target_reps,
                         too_fast_s=args.too_fast_s, rest_s=args.rest_s)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", help="trace file (calfcount trace v1 CSV)")
    p.add_argument("--json", action="store_true", help="print JSON Lines, one event per line")
    add_counter_arguments(p)


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, reader: TraceReader, stream: IO[str]):
        self.reader, self.stream = reader, stream
        self.enabled = stream.isatty() and reader.bytes_total > 2_000_000
        self.last_pct = -1

    def tick(self) -> None:
        pct = int(100 * self.reader.bytes_read / max(1, self.reader.bytes_total))
        if pct != self.last_pct:
            self.last_pct = pct
            bar = "#" * (pct // 4)
            self.stream.write(f"\r[{bar:<25}] {pct:3d}%")
            self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.last_pct >= 0:
            self.stream.write("\r" + " " * 40 + "\r")
            self.stream.flush()


def replay(path: str, config: CounterConfig, as_json: bool, out: IO[str], err: IO[str]) -> int:
    counter = CalfCounter(config)
    events: list[RepEvent | SetEndEvent] = []
    with TraceReader(path) as reader:
        progress = _Progress(reader, err)
        update = counter.update
        n = 0
        for s in reader:
            evs = update(s)
            if evs:
                for ev in evs:
                    if as_json:
                        out.write(json.dumps(ev.to_dict()) + "\n")
                    events.append(ev)
            n += 1
            if progress.enabled and not n % 20000:
                progress.tick()
        progress.done()
    for ev in counter.finish():
        if as_json:
            out.write(json.dumps(ev.to_dict()) + "\n")
        events.append(ev)
    if not as_json:
        out.write(format_summary(path, events, config, counter.t_s or 0.0))
    return 0


def format_summary(path: str, events: list[RepEvent | SetEndEvent], config: CounterConfig, duration_s: float) -> str:
    lines = [f"{path}: {duration_s:.1f} s"]
    sets = [e for e in events if isinstance(e, SetEndEvent) and e.reason != "discarded"]
    stray = sum(e.reps for e in events if isinstance(e, SetEndEvent) and e.reason == "discarded")
    reps = [e for e in events if isinstance(e, RepEvent)]
    if not sets:
        lines.append("  no reps counted")
    for st in sets:
        mine = [r for r in reps if r.set == st.set and st.start_s <= r.start_s and r.end_s <= st.end_s]
        marks = " ".join(("B" if BOUNCING in r.flags else "") + ("F" if TOO_FAST in r.flags else "") or "." for r in mine)
        lines.append(f"  set {st.set}: {st.reps}/{config.target_reps} reps  "
                     f"{st.start_s:7.1f}-{st.end_s:7.1f} s  bouncing {st.bouncing}, too fast {st.too_fast}  [{marks}]")
    if stray:
        lines.append(f"  {stray} stray rep(s) outside any set (fewer than {config.min_set_reps} in a row), not counted")
    full = sum(st.reps >= config.target_reps for st in sets)
    lines.append(f"  target {config.target_sets} x {config.target_reps}: "
                 f"{full} full set(s) of {config.target_sets}" + ("  -- target met" if full >= config.target_sets else ""))
    lines.append("  (B = bouncing, F = too fast, . = clean)")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ValueError as e:
        print(f"calfcount replay: {e}", file=sys.stderr)
        return 2
    try:
        return replay(args.trace, config, args.json, sys.stdout, sys.stderr)
    except TraceError as e:
        print(f"calfcount replay: {e}", file=sys.stderr)
        return 1
