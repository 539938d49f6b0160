"""Options and helpers for subcommands that talk to a device: profile, credentials, confirmation, progress."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from hsmconsole.custody.shares import SecretKind, Share, parse_shares
from hsmconsole.custody.split import combine_shares
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore, default_data_dir
from hsmconsole.errors import InputError
from hsmconsole.journal.chain import Journal
from hsmconsole.secrets import Secret

_MAX_PASSPHRASE_FILE = 4096
_MAX_SHARE_FILE = 1 << 20


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


def read_passphrase_file(path: str) -> Secret:
    try:
        if path == "-":
            data = sys.stdin.buffer.read(_MAX_PASSPHRASE_FILE + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(_MAX_PASSPHRASE_FILE + 1)
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}.", "Check the file name.") from None
    if len(data) > _MAX_PASSPHRASE_FILE:
        raise InputError(f"{path} is too long to hold a passphrase.", "Give the file with the passphrase.")
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not first:
        raise InputError(f"{path} holds no passphrase on its first line.", "Check the file.")
    try:
        return Secret(first.decode("utf-8"), label="passphrase")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text.", "A passphrase file holds one line of text.") from None


def admin_from_shares(paths: list[str]) -> Secret:
    """The admin passphrase combined from a quorum of share files; refused unless they are admin
    shares of one set (the same checks as the console's quorum entry)."""
    if paths.count("-") > 1:
        raise InputError("stdin ('-') can be given only once.")
    shares: list[Share] = []
    for path in paths:
        raw = sys.stdin.buffer.read(_MAX_SHARE_FILE) if path == "-" else _read_file(path, _MAX_SHARE_FILE)
        try:
            text = Secret(raw.decode("utf-8-sig"), label="share text")
        except UnicodeDecodeError:
            raise InputError(f"{path} is not a text file of shares.") from None
        for share in parse_shares(text, source=path):
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


def _read_file(path: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}.", "Check the file name.") from None
    if len(data) > limit:
        raise InputError(f"{path} is too long for what it should hold.", "Check the file name.")
    return data


def credentials(args: argparse.Namespace, profile: Profile) -> Credentials:
    """The user's passphrase from --passphrase-file, the OS keyring (never the admin's), or a prompt."""
    user = args.user
    share_files = getattr(args, "share_file", None)
    if share_files:
        if args.passphrase_file:
            raise InputError("Give either --passphrase-file or --share-file, not both.")
        return Credentials(user, admin_from_shares(share_files))
    if args.passphrase_file:
        return Credentials(user, read_passphrase_file(args.passphrase_file))
    if user != "admin":
        kept = CredentialVault().get(profile.name, user)
        if kept is not None:
            return Credentials(user, kept)
    if not sys.stdin.isatty():
        raise InputError(
            f"No passphrase for {user}.", "Give --passphrase-file F (a 0600 file, or - for stdin)."
        )
    try:
        typed = getpass.getpass(f"Passphrase of {user} on {profile.name}: ")
    except EOFError:
        raise InputError("No passphrase typed; nothing was done.") from None
    if not typed:
        raise InputError("No passphrase typed; nothing was done.")
    return Credentials(user, Secret(typed, label=f"passphrase of {user}"))


def ask(prompt: str) -> str:
    """One answer typed on the terminal; end of input (Ctrl+D) stops, with nothing changed."""
    try:
        return input(prompt)
    except EOFError:
        raise InputError("No answer (end of input); nothing was changed.") from None


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm(question: str, *, yes: bool, flag: str = "--yes") -> None:
    """Go ahead with --yes; else ask on a terminal (anything but y/yes stops); in a script, refuse."""
    if yes:
        return
    if not interactive():
        raise InputError(f"{question} Not asked: this is not a terminal.", f"Add {flag} to go ahead.")
    print(question, file=sys.stderr)
    answer = ask("Go ahead? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise InputError("Stopped; nothing was changed.")


def typed_confirmation(prompt: str) -> str:
    print(prompt, file=sys.stderr)
    return ask("> ")


class ProgressBar:
    """A one-line bar on a terminal's stderr; silent in a pipe or file."""

    WIDTH = 30

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        percent = done * 100 // total
        if percent == self._last:
            return
        self._last = percent
        filled = self.WIDTH * done // total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label} [{bar}] {percent:3d}%{end}")
        self.stream.flush()


def output_path(text: str) -> Path:
    path = Path(text)
    if path.exists():
        raise InputError(f"{path} already exists.", "Choose another file name; nothing was overwritten.")
    return path
