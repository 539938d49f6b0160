"""Command-line entry point: parses subcommands and maps core errors to messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from hsmconsole.errors import ErrorKind, HsmConsoleError

# Exit codes: 0 success, 1 the operation failed, 2 bad input or usage, 130 interrupted.
EXIT_FAILURE = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], int]


def _build_parser() -> argparse.ArgumentParser:
    # Feature modules own their subcommands' arguments; they are imported here, not at module
    # import time of the core, and none of them imports Textual.
    from hsmconsole.commands import admin, backup, emulator, journal, profile, shares, tui
    from hsmconsole.commands import system as system_cmd

    parser = argparse.ArgumentParser(
        prog="hsmconsole",
        description="Administer Nitrokey NetHSMs: ceremonies, custodian shares, journal, emulator.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (tui, emulator, shares, journal, system_cmd, backup, profile, admin):
        group.configure(sub)
    return parser


def _subcommand_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    arglist = list(sys.argv[1:] if argv is None else argv)
    commands = _subcommand_names(parser)
    if not any(a in commands or a in ("-h", "--help") for a in arglist[:1]):
        # No subcommand: the console, as the README promises (`hsmconsole --emulator` works too).
        arglist = ["tui", *arglist]
    args = parser.parse_args(arglist)
    handler: Handler = args.handler
    try:
        return handler(args)
    except HsmConsoleError as exc:
        print(f"hsmconsole: {exc.title}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return EXIT_INPUT if exc.kind is ErrorKind.INPUT else EXIT_FAILURE
    except KeyboardInterrupt:
        print("hsmconsole: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        # A bug. A traceback, or even str(exc), could show a secret from a local variable or an
        # argument (a passphrase, a share's bytes), so only the exception's class is named.
        print(
            f"hsmconsole: internal error ({type(exc).__name__}); nothing secret was printed. "
            "Please report it.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
