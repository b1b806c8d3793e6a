"""``calfcount record FILE``: record a trace (format v1) from the sensor while counting.

The file is flushed and fsynced every second, so a power cut loses at most a second; reps are
printed as they are counted (and stored in the history like ``run``).
"""
from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from counter.trace import TraceWriter
from firmware.device import add_device_arguments, fail, pump


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="trace file to write (calfcount trace v1 CSV)")
    p.add_argument("--serve", action="store_true", help="serve the live page while recording")
    add_device_arguments(p)


def record(source: Any, path: str, live: Any, rate_hz: float, meta: dict[str, str],
           stop: threading.Event | None = None, out: Any = sys.stdout) -> int:
    """Write every sample of ``source`` to ``path`` while ``live`` counts them."""
    def show(ev: Any) -> None:
        flags = (" " + ", ".join(ev.flags)) if ev.flags else ""
        print(f"set {ev.set} rep {ev.rep} at {ev.end_s:.1f} s{flags}", file=out, flush=True)

    with TraceWriter(path, rate_hz, meta) as writer:
        pump(source, live, writer, stop, on_rep=show)
        return writer.samples_written


def main(args: argparse.Namespace) -> int:
    from firmware.run_cmd import install_stop, serve_in_background, start_device
    from firmware.sampler import Sampler

    started = start_device(args)
    if isinstance(started, int):
        return started
    settings, bus, imu, live = started
    if args.serve:
        serve_in_background(settings, live)
    sampler = Sampler(imu)
    stop = threading.Event()
    install_stop(stop, sampler)
    meta = {"sensor": imu.chip, "accel_range_g": str(settings.accel_range_g),
            "gyro_range_dps": str(settings.gyro_range_dps), "placement": settings.placement}
    try:
        n = record(sampler, args.file, live, imu.rate_hz, meta, stop)
    except OSError as e:
        return fail(f"cannot write {args.file}: {e.strerror or e}")
    finally:
        live.close()
        bus.close()
    print(f"calfcount: {n} samples written to {args.file}")
    return 0
