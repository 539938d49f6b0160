"""`hsmconsole emulator`: serve the emulated NetHSM API over HTTPS until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("emulator", help="run the built-in NetHSM emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--state-dir", default=None)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError  # filled in by the emulator server work
