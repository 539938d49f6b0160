"""Where `hsmconsole backup …` gets its secrets: passphrase files, share files or a hidden prompt."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from hsmconsole.commands import inputs
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import RawShare, SecretKind, Share, encode_share
from hsmconsole.custody.split import combine_shares
from hsmconsole.device.client import Credentials
from hsmconsole.errors import InputError
from hsmconsole.secrets import Secret


@dataclass
class Obtained:
    """A secret and, when it came from shares, what the journal may say about them."""

    secret: Secret
    set_ids: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = ()


def add_secret_options(p: argparse.ArgumentParser, name: str, *, shares: bool = True) -> None:
    """--NAME-passphrase-file F and (for quorum secrets) --NAME-share-file F (repeatable)."""
    p.add_argument(
        f"--{name}-passphrase-file", metavar="F",
        help=f"file holding the {name} passphrase (one trailing newline ignored)",
    )  # fmt: skip
    if shares:
        p.add_argument(
            f"--{name}-share-file", metavar="F", action="append", default=[],
            help=f"a custodian's share file of the {name} passphrase (repeat for a quorum)",
        )  # fmt: skip


def secret_from_shares(paths: list[str], kind: SecretKind) -> Obtained:
    groups = inputs.read_shares_by_file(paths, stdin=False)
    try:
        shares = _checked(groups, kind)
        meta = shares[0].set if shares else None
        prints = tuple(s.fingerprint for s in shares)
        secret = combine_shares(shares)
    finally:
        inputs.wipe_shares(groups)
    return Obtained(secret, (meta.set_id,) if meta else (), prints)


def _checked(groups: list[tuple[str, list[Share | RawShare]]], kind: SecretKind | None) -> list[Share]:
    """The shares, refused at the first raw share or (given `kind`) share of another secret."""
    shares: list[Share] = []
    for path, parsed in groups:
        for s in parsed:
            if not isinstance(s, Share):
                raise InputError(f"{path} holds a raw share", "Give hsmconsole shares (HSMC1...).")
            if kind is not None and s.set.kind is not kind:
                raise InputError(
                    f"{path} holds a share of the {s.set.secret_name}",
                    f"This needs shares of the {kind.value} passphrase.",
                )
            shares.append(s)
    return shares


def prompt(label: str, *, optional: bool) -> Secret | None:
    """A hidden prompt on the terminal; None when there is no terminal or (optional) Enter alone."""
    if not inputs.stdin_is_terminal():
        return None
    suffix = " (Enter to skip)" if optional else ""
    typed = inputs.read_hidden(f"{label[0].upper()}{label[1:]}{suffix}: ")
    return Secret(typed, label) if typed else None


def obtain(args: argparse.Namespace, name: str, *, required: bool, ask: bool = True) -> Obtained | None:
    """The secret for `name` ('backup', 'unlock', 'admin') from its options, else a hidden prompt."""
    label = f"{name} passphrase"
    file_ = getattr(args, f"{name}_passphrase_file", None)
    share_files: list[str] = getattr(args, f"{name}_share_file", None) or []
    if file_ and share_files:
        raise InputError(f"give the {label} as a file or as share files, not both")
    if file_:
        return Obtained(inputs.passphrase_whole_file(file_, label))
    if share_files:
        return secret_from_shares(share_files, SecretKind(name))
    typed = prompt(label, optional=not required) if ask and not getattr(args, "no_prompt", False) else None
    if typed is not None:
        return Obtained(typed)
    if required:
        opts = f"--{name}-passphrase-file" + (f" or --{name}-share-file" if name != "user" else "")
        raise InputError(f"the {label} is needed", f"Give it with {opts}, or run at a terminal to type it.")
    return None


def collector_from_files(paths: list[str], kind: SecretKind) -> ShareCollector:
    """Share files into a ShareCollector (each share checked as entered, as at the keyboard), so the
    quorum unlock journals their fingerprints like the console does."""
    collector = ShareCollector(kind)
    groups: list[tuple[str, list[Share | RawShare]]] = []
    try:
        groups = inputs.read_shares_by_file(paths, stdin=False)
        for path, parsed in groups:
            for s in _checked([(path, parsed)], None):
                collector.add(encode_share(s), source=path)
    except BaseException:
        collector.wipe()
        raise
    finally:
        inputs.wipe_shares(groups)
    return collector


def unlock_source(args: argparse.Namespace, *, required: bool) -> ShareCollector | Secret | None:
    files: list[str] = getattr(args, "unlock_share_file", None) or []
    if files and getattr(args, "unlock_passphrase_file", None):
        raise InputError("give the unlock passphrase as a file or as share files, not both")
    if files:
        return collector_from_files(files, SecretKind.UNLOCK)
    got = obtain(args, "unlock", required=required)
    return got.secret if got else None


def backup_user_credentials(
    profile: str, user: str, passphrase_file: str | None, *, prompt_ok: bool
) -> Credentials:
    """The Backup-role user's credentials: from a file, else the OS keyring, else a hidden prompt.
    Also used by `apply --backup-to`, which must have them before it changes anything."""
    if passphrase_file:
        return Credentials(user, inputs.passphrase_whole_file(passphrase_file, f"passphrase of {user}"))
    kept = inputs.keyring_passphrase(profile, user)
    if kept is not None:
        return Credentials(user, kept)
    typed = prompt(f"passphrase of {user}", optional=False) if prompt_ok else None
    if typed is None:
        raise InputError(
            f"the passphrase of {user} is needed",
            "Give it with --passphrase-file, keep it in the OS keyring, or run at a terminal.",
        )
    return Credentials(user, typed)
