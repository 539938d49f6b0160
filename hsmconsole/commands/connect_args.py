"""Options and helpers for subcommands that talk to a device: profile, target, credentials, output file."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from hsmconsole.commands import inputs
from hsmconsole.custody.shares import SecretKind, Share
from hsmconsole.custody.split import combine_shares
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile, ProfileStore, default_data_dir
from hsmconsole.errors import InputError
from hsmconsole.journal.chain import Journal
from hsmconsole.secrets import Secret


def add_device_options(p: argparse.ArgumentParser, *, default_user: str = "admin") -> None:
    p.add_argument("--profile", required=True, help="connection profile (address and pinned TLS fingerprint)")
    p.add_argument("--user", default=default_user, help=f"user id (default: {default_user})")
    p.add_argument(
        "--passphrase-file", metavar="F",
        help="file whose first line is the passphrase ('-': stdin); without it: the OS keyring "
        "(day-to-day users), else a prompt on a terminal",
    )  # fmt: skip
    if default_user == "admin":
        p.add_argument(
            "--share-file", action="append", metavar="F",
            help="a file of admin shares (repeatable, '-' once for stdin): a quorum of them "
            "rebuilds the admin passphrase in memory",
        )  # fmt: skip


@dataclass
class Target:
    """Where and as whom a command acts; the journal is the console's own."""

    store: ProfileStore
    profile: Profile
    client: DeviceClient
    journal: Journal


def target(args: argparse.Namespace) -> Target:
    store = ProfileStore()
    profile = store.get(args.profile)
    return Target(store, profile, DeviceClient(profile), Journal(default_data_dir() / "journal.jsonl"))


def admin_from_shares(paths: list[str]) -> Secret:
    """The admin passphrase combined from a quorum of share files, read as `shares combine` reads
    them; refused unless they are admin shares of one set (the same checks as the console's)."""
    groups = inputs.read_shares_by_file(paths)
    shares: list[Share] = []
    try:
        for path, parsed in groups:
            for share in parsed:
                if not isinstance(share, Share):
                    raise InputError(
                        f"{path} holds a raw share, which does not say what it is a share of.",
                        "Combine raw shares with 'hsmconsole shares combine' into a 0600 file and give "
                        "it with --passphrase-file.",
                    )
                if share.set.kind is not SecretKind.ADMIN:
                    raise InputError(
                        f"{share.name} from {path} is a share of the {share.set.secret_name}, not of the "
                        "admin passphrase.",
                        "Give admin shares.",
                    )
                shares.append(share)
        return combine_shares(shares)
    finally:
        inputs.wipe_shares(groups)


def credentials(args: argparse.Namespace, profile: Profile) -> Credentials:
    """The user's passphrase from --passphrase-file, the OS keyring (never the admin's), or a prompt."""
    user = args.user
    share_files = getattr(args, "share_file", None)
    if share_files:
        if args.passphrase_file:
            raise InputError("Give either --passphrase-file or --share-file, not both.")
        return Credentials(user, admin_from_shares(share_files))
    if args.passphrase_file:
        return Credentials(user, inputs.passphrase_first_line(args.passphrase_file))
    if user != "admin":
        kept = inputs.keyring_passphrase(profile.name, user)
        if kept is not None:
            return Credentials(user, kept)
    if not inputs.stdin_is_terminal():
        raise InputError(
            f"No passphrase for {user}.", "Give --passphrase-file F (a 0600 file, or - for stdin)."
        )
    typed = inputs.read_hidden(f"Passphrase of {user} on {profile.name}: ")
    if not typed:
        raise InputError("No passphrase typed; nothing was done.")
    return Credentials(user, Secret(typed, label=f"passphrase of {user}"))


def output_path(text: str) -> Path:
    path = Path(text)
    if path.exists():
        raise InputError(f"{path} already exists.", "Choose another file name; nothing was overwritten.")
    return path
