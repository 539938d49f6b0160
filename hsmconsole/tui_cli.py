"""`hsmconsole tui` (the default): start the console, against a profile or a fresh built-in emulator."""

from __future__ import annotations

import argparse


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tui", help="the interactive console (default)")
    p.add_argument(
        "--emulator",
        action="store_true",
        help="start a fresh in-memory emulator and connect to it (the default without profiles)",
    )
    p.add_argument("--profile", default=None, help="connect with a saved connection profile")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError  # filled in once the emulator can be embedded
