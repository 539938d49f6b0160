"""`hsmconsole journal verify`: check a journal's hash chain and name the line that was changed."""

from __future__ import annotations

import argparse

from hsmconsole.commands.common import usage
from hsmconsole.errors import IntegrityError
from hsmconsole.journal.chain import verify_journal


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    journal = sub.add_parser("journal", help="check the ceremony journal")
    journal.set_defaults(handler=lambda _args: usage(journal))
    jsub = journal.add_subparsers(dest="journal_command", metavar="ACTION")
    p = jsub.add_parser("verify", help="verify the journal's hash chain")
    p.add_argument("file", help="journal file (JSON lines)")
    p.add_argument("--head", help="the hash the journal must end with (recorded elsewhere)")
    p.set_defaults(handler=_journal_verify)


def _journal_verify(args: argparse.Namespace) -> int:
    report = verify_journal(args.file, expected_head=args.head)
    if report.problem is not None:
        raise IntegrityError(
            f"journal {args.file}: {report.problem.message}",
            f"The first {report.entries} entries are intact (head {report.head}).",
        )
    print(f"{args.file}: OK, {report.entries} entries, head {report.head}")
    return 0
