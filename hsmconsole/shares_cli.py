"""`hsmconsole shares …` and `hsmconsole journal …`: scripting access to custodian shares and the journal."""

from __future__ import annotations

import argparse


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("shares", help="split, combine and check custodian shares")
    p.set_defaults(handler=_todo)


def _todo(args: argparse.Namespace) -> int:
    raise NotImplementedError  # filled in by the custodian shares work
