"""Small helpers every subcommand group shares."""

from __future__ import annotations

import argparse
import sys


def usage(parser: argparse.ArgumentParser) -> int:
    """A command group given without an action: its help on stderr, and exit 2 (bad usage)."""
    parser.print_help(sys.stderr)
    return 2
