"""`hsmconsole tui` (the default): start the console, against a profile or a fresh built-in emulator."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hsmconsole.errors import InputError

if TYPE_CHECKING:
    from hsmconsole.device.profiles import Profile, ProfileStore
    from hsmconsole.journal.chain import Journal

EMULATOR_PROFILE = "built-in-emulator"


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
    from hsmconsole.device.profiles import ProfileStore, default_data_dir
    from hsmconsole.journal.chain import Journal

    if args.emulator and args.profile:
        raise InputError("Give either --emulator or --profile, not both.")
    store = ProfileStore()
    profiles = store.load()
    if args.profile is not None:
        return _run_app(store, store.get(args.profile), Journal(default_data_dir() / "journal.jsonl"))
    if args.emulator or not profiles:
        return _run_with_emulator(store)
    return _run_app(store, None, Journal(default_data_dir() / "journal.jsonl"))


@contextlib.contextmanager
def scratch_journal() -> Iterator[Journal]:
    """A throwaway journal for the built-in emulator, in a new 0700 temporary directory that is
    removed afterwards. A file rather than memory: the journal is a hash-chained file format with
    locking, and the emulator should exercise exactly the code a real device does (lock, unlock,
    admin sessions, the ceremony and what the dashboard reads back from it). Its history ends with
    the emulator's state and never mixes with the journal of real devices."""
    from hsmconsole.journal.chain import Journal

    folder = Path(tempfile.mkdtemp(prefix="hsmconsole-emulator-journal-"))  # mkdtemp: 0700
    try:
        yield Journal(folder / "journal.jsonl")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_with_emulator(store: ProfileStore) -> int:
    from hsmconsole.device.profiles import Profile, default_data_dir
    from hsmconsole.emulator.server import EmbeddedEmulator
    from hsmconsole.journal.chain import Journal

    emulator = EmbeddedEmulator()  # in memory: nothing of it outlives this process
    emulator.start()
    try:
        # We started it ourselves, so its certificate is known without asking anyone.
        profile = Profile(EMULATOR_PROFILE, emulator.host_port, fingerprint=emulator.fingerprint)
        # Real devices reached from this run keep the real journal; the emulator gets its own.
        with scratch_journal() as throwaway:
            code = _run_app(store, profile, Journal(default_data_dir() / "journal.jsonl"),
                            emulator=True, emulator_journal=throwaway)
    finally:
        emulator.stop()
    print("hsmconsole: the built-in emulator was stopped; its state is gone.", file=sys.stderr)
    return code


def _run_app(
    store: ProfileStore, profile: Profile | None, journal: Journal | None, *, emulator: bool = False,
    emulator_journal: Journal | None = None,
) -> int:
    # Imported here: the core must not pull in Textual (tests/unit/test_layering.py).
    from screens.app import HsmConsoleApp

    app = HsmConsoleApp(store=store, journal=journal, profile=profile, emulator=emulator,
                        emulator_journal=emulator_journal)
    result = app.run()
    return int(result or 0) if app.return_code in (None, 0) else int(app.return_code or 1)
