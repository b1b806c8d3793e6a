"""The ``calfcount`` command.

Each subcommand lives with the code it drives and is imported only when used, so
``calfcount replay`` on a laptop never needs smbus2, gpiozero or Flask.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, help). The module provides add_arguments(parser) and main(args) -> int.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "replay": ("counter.replay", "count the reps in a recorded trace"),
    "run": ("firmware.run_cmd", "the device program: sensor -> counter -> page"),
    "record": ("firmware.record_cmd", "record a trace from the sensor while counting"),
    "serve": ("web.serve_cmd", "serve the page and history without a sensor"),
    "demo": ("web.demo_cmd", "replay a bundled trace at real speed into the live page"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="calfcount", description="Calf-raise rep counter.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = None
    if argv:
        wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    try:
        return int(module.main(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
