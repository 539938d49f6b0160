"""`hsmconsole backup create|restore|rehearse`: the backup subcommands that talk to a device."""

from __future__ import annotations

import argparse


def configure(bsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registered by hsmconsole.commands.backup."""
