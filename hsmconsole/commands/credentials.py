"""Credentials for plan/apply/inventory: the shared device options (connect_args), checked and journaled."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hsmconsole.commands.connect_args import add_device_options

if TYPE_CHECKING:
    from hsmconsole.device.client import Credentials, DeviceClient
    from hsmconsole.device.profiles import Profile
    from hsmconsole.journal.chain import Journal


def add_device_args(p: argparse.ArgumentParser) -> None:
    """--profile, --user, --passphrase-file, --share-file (as every device command), --journal."""
    add_device_options(p)
    p.add_argument("--journal", metavar="FILE", help="journal file (default: the console's journal)")


def open_device(args: argparse.Namespace) -> tuple[Profile, DeviceClient, Journal]:
    from hsmconsole.device.client import DeviceClient
    from hsmconsole.device.profiles import ProfileStore, default_data_dir
    from hsmconsole.journal.chain import Journal

    profile = ProfileStore().get(args.profile)
    journal = Journal(args.journal or default_data_dir() / "journal.jsonl")
    return profile, DeviceClient(profile), journal


def credentials(args: argparse.Namespace, client: DeviceClient, journal: Journal) -> Credentials:
    """The acting user's credentials (a passphrase file, the keyring, a quorum of admin share
    files checked as `shares combine` checks them, or a prompt on a terminal), checked with one
    harmless read before anything else is sent, and the sign-in journaled (set id and share
    fingerprints for a quorum, never a share)."""
    from hsmconsole.access.session import start_session
    from hsmconsole.commands import connect_args

    creds = connect_args.credentials(args, client.profile)
    set_ids: tuple[str, ...] = ()
    prints: tuple[str, ...] = ()
    if getattr(args, "share_file", None):
        from hsmconsole.commands.inputs import read_share_files
        from hsmconsole.custody.shares import Share

        shares = [
            s for s in read_share_files([p for p in args.share_file if p != "-"]) if isinstance(s, Share)
        ]
        set_ids = tuple(dict.fromkeys(s.set.set_id for s in shares))
        prints = tuple(s.fingerprint for s in shares)
    start_session(client, creds, journal=journal, set_ids=set_ids, share_fingerprints=prints)
    return creds
