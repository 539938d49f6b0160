"""Where `hsmconsole backup …` gets its secrets: passphrase files, share files or a hidden prompt."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass

from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, Share, encode_share, parse_shares
from hsmconsole.custody.split import combine_shares
from hsmconsole.errors import InputError
from hsmconsole.secrets import Secret

_MAX_INPUT = 1 << 16


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


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_INPUT + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", "Check the file name.") from None
    if len(data) > _MAX_INPUT:
        raise InputError(f"{path} is too big to hold a passphrase or shares")
    return data


def passphrase_from_file(path: str, label: str) -> Secret:
    data = _read(path)
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise InputError(f"{path} is empty", f"Put the {label} in it.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not text", f"It should hold the {label}.") from None
    return Secret(data, label)


def secret_from_shares(paths: list[str], kind: SecretKind) -> Obtained:
    shares: list[Share] = []
    for path in paths:
        try:
            text = _read(path).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{path} is not a text file of shares") from None
        for s in parse_shares(text, source=path):
            if not isinstance(s, Share):
                s.payload.wipe()
                raise InputError(f"{path} holds a raw share", "Give hsmconsole shares (HSMC1...).")
            if s.set.kind is not kind:
                raise InputError(
                    f"{path} holds a share of the {s.set.secret_name}",
                    f"This needs shares of the {kind.value} passphrase.",
                )
            shares.append(s)
    meta = shares[0].set if shares else None
    prints = tuple(s.fingerprint for s in shares)
    try:
        secret = combine_shares(shares)
    finally:
        for s in shares:
            s.payload.wipe()
    return Obtained(secret, (meta.set_id,) if meta else (), prints)


def prompt(label: str, *, optional: bool) -> Secret | None:
    """A hidden prompt on the terminal; None when there is no terminal or (optional) Enter alone."""
    if not sys.stdin.isatty():
        return None
    suffix = " (Enter to skip)" if optional else ""
    try:
        typed = getpass.getpass(f"{label[0].upper()}{label[1:]}{suffix}: ")
    except EOFError:
        return None
    return Secret(typed, label) if typed else None


def obtain(args: argparse.Namespace, name: str, *, required: bool, ask: bool = True) -> Obtained | None:
    """The secret for `name` ('backup', 'unlock', 'admin') from its options, else a hidden prompt."""
    label = f"{name} passphrase"
    file_ = getattr(args, f"{name}_passphrase_file", None)
    share_files: list[str] = getattr(args, f"{name}_share_file", None) or []
    if file_ and share_files:
        raise InputError(f"give the {label} as a file or as share files, not both")
    if file_:
        return Obtained(passphrase_from_file(file_, label))
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
    try:
        for path in paths:
            try:
                text = _read(path).decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InputError(f"{path} is not a text file of shares") from None
            for s in parse_shares(text, source=path):
                if not isinstance(s, Share):
                    s.payload.wipe()
                    raise InputError(f"{path} holds a raw share", "Give hsmconsole shares (HSMC1...).")
                collector.add(encode_share(s), source=path)
                s.payload.wipe()
    except BaseException:
        collector.wipe()
        raise
    return collector


def unlock_source(args: argparse.Namespace, *, required: bool) -> ShareCollector | Secret | None:
    files: list[str] = getattr(args, "unlock_share_file", None) or []
    if files and getattr(args, "unlock_passphrase_file", None):
        raise InputError("give the unlock passphrase as a file or as share files, not both")
    if files:
        return collector_from_files(files, SecretKind.UNLOCK)
    got = obtain(args, "unlock", required=required)
    return got.secret if got else None


class Bar:
    """A one-line progress bar on stderr when it is a terminal; silent in a pipe."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.live = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self.live:
            return
        if total:
            filled = int(30 * done / total)
            text = f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done * 100 // total:3d}%"
        else:
            text = f"\r{self.label} {done // 1024} KiB"
        sys.stderr.write(text)
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
