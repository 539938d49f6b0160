"""Credentials for device commands: --user with --passphrase-file or the keyring, or admin share files."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hsmconsole.errors import InputError

if TYPE_CHECKING:
    from hsmconsole.device.client import Credentials, DeviceClient
    from hsmconsole.device.profiles import Profile
    from hsmconsole.journal.chain import Journal


def add_device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", required=True, help="connection profile (see `hsmconsole profile`)")
    p.add_argument("--user", default="admin", help="user to act as (default: admin)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--passphrase-file", metavar="F", help="file holding the user's passphrase (0600)")
    how.add_argument(
        "--admin-shares", nargs="+", metavar="SHARE",
        help="files with a quorum of the admin passphrase's shares (checked as `shares combine` does)",
    )  # fmt: skip
    p.add_argument("--journal", metavar="FILE", help="journal file (default: the console's journal)")


def open_device(args: argparse.Namespace) -> tuple[Profile, DeviceClient, Journal]:
    from hsmconsole.device.client import DeviceClient
    from hsmconsole.device.profiles import ProfileStore, default_data_dir
    from hsmconsole.journal.chain import Journal

    profile = ProfileStore().get(args.profile)
    journal = Journal(args.journal or default_data_dir() / "journal.jsonl")
    return profile, DeviceClient(profile), journal


def credentials(args: argparse.Namespace, client: DeviceClient, journal: Journal) -> Credentials:
    """The acting user's credentials, checked with one harmless read (a failed login is rate
    limited) before anything else is sent. Secrets come from files or the keyring, never argv."""
    from hsmconsole.access.session import start_session
    from hsmconsole.admin.passphrases import read_passphrase_file
    from hsmconsole.device.client import Credentials
    from hsmconsole.device.credentials import CredentialVault

    if args.admin_shares:
        if args.user != "admin":
            raise InputError("--admin-shares rebuild the admin passphrase: leave --user out")
        return _from_shares(args.admin_shares, client, journal)
    if args.passphrase_file:
        from pathlib import Path

        secret = read_passphrase_file(Path(args.passphrase_file), args.user)
    else:
        found = CredentialVault().get(client.profile.name, args.user)
        if found is None:
            raise InputError(
                f"no passphrase for {args.user}",
                "Give --passphrase-file F (a 0600 file), keep it in the OS keyring from the console, "
                "or give --admin-shares with a quorum of admin shares.",
            )
        secret = found
    creds = Credentials(args.user, secret)
    start_session(client, creds, journal=journal)  # checks (and journals) the sign-in
    return creds


def _from_shares(paths: list[str], client: DeviceClient, journal: Journal) -> Credentials:
    from hsmconsole.access.session import start_session
    from hsmconsole.commands.shares import read_share_files
    from hsmconsole.custody.shares import RawShare, SecretKind, Share
    from hsmconsole.custody.split import combine_shares
    from hsmconsole.device.client import Credentials

    parsed = read_share_files(paths)
    shares = [s for s in parsed if isinstance(s, Share)]
    if any(isinstance(s, RawShare) for s in parsed):
        raise InputError("raw base64 shares cannot open an admin session", "Use hsmconsole share files.")
    if shares and shares[0].set.kind is not SecretKind.ADMIN:
        raise InputError(
            f"these are shares of the {shares[0].set.kind.value} passphrase, not of the admin passphrase"
        )
    secret = combine_shares(shares)
    creds = Credentials("admin", secret)
    start_session(
        client, creds, journal=journal, set_ids=(shares[0].set.set_id,),
        share_fingerprints=tuple(s.fingerprint for s in shares),
    )  # fmt: skip
    return creds
