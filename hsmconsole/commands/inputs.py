"""What subcommands read from the person: passphrase/share files, keyring, hidden prompts; a progress bar."""

from __future__ import annotations

import getpass
import sys
import warnings
from typing import TextIO

from hsmconsole.custody.shares import RawShare, Share, parse_shares
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.errors import InputError
from hsmconsole.secrets import Secret

MAX_SHARE_FILE = 1 << 20  # no share or secret file is anywhere near this big
MAX_PASSPHRASE_LINE_FILE = 4096
MAX_BACKUP_INPUT = 1 << 16


def read_limited(
    path: str,
    limit: int,
    *,
    too_big: InputError,
    stdin: bool = True,
    cannot_read: str = "cannot read {path}: {reason}",
) -> bytes:
    """At most `limit` bytes of a file ('-': stdin, when allowed); more than that is refused with
    `too_big`, so a wrong file name (a disk image, a log) never lands in memory as a secret."""
    try:
        if stdin and path == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(cannot_read.format(path=path, reason=exc.strerror), "Check the file name.") from None
    if len(data) > limit:
        raise too_big
    return data


def without_newline(data: bytes) -> bytes:
    """The secret without the one line ending an editor adds: LF or CRLF, once. A lone CR stays,
    as it cannot be a line ending on its own here and may be part of the secret."""
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data.removesuffix(b"\n")


def passphrase_first_line(path: str) -> Secret:
    """The first line of a small file ('-': stdin): device options' --passphrase-file."""
    data = read_limited(
        path, MAX_PASSPHRASE_LINE_FILE,
        too_big=InputError(f"{path} is too long to hold a passphrase.", "Give the file with the passphrase."),
        cannot_read="Cannot read {path}: {reason}.",
    )  # fmt: skip
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not first:
        raise InputError(f"{path} holds no passphrase on its first line.", "Check the file.")
    try:
        return Secret(first.decode("utf-8"), label="passphrase")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text.", "A passphrase file holds one line of text.") from None


def passphrase_whole_file(path: str, label: str) -> Secret:
    """A whole file (one trailing newline dropped) as the passphrase: backup's --NAME-passphrase-file."""
    data = without_newline(_backup_input(path))
    if not data:
        raise InputError(f"{path} is empty", f"Put the {label} in it.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not text", f"It should hold the {label}.") from None
    return Secret(data, label)


def _backup_input(path: str) -> bytes:
    return read_limited(
        path, MAX_BACKUP_INPUT, stdin=False,
        too_big=InputError(f"{path} is too big to hold a passphrase or shares"),
    )  # fmt: skip


def source_name(path: str) -> str:
    return "stdin" if path == "-" else path


def read_shares_by_file(paths: list[str], *, stdin: bool = True) -> list[tuple[str, list[Share | RawShare]]]:
    """Share files read and parsed exactly as `shares combine` reads them, grouped by file.
    Without `stdin` (backup's options), '-' is a file name and the smaller backup limit applies."""
    if stdin and paths.count("-") > 1:
        raise InputError("stdin ('-') can be given only once")
    out: list[tuple[str, list[Share | RawShare]]] = []
    for path in paths:
        if stdin:
            data = read_limited(
                path, MAX_SHARE_FILE, too_big=InputError(f"{path} is too big to be a secret or a share")
            )
        else:
            data = _backup_input(path)
        source = source_name(path) if stdin else path
        try:
            # utf-8-sig: editors on Windows start files with a byte order mark.
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{source} is not a text file of shares") from None
        out.append((path, parse_shares(text, source=source)))
    return out


def read_share_files(paths: list[str]) -> list[Share | RawShare]:
    """Share files read and checked exactly as `shares combine` reads them."""
    return [s for _path, shares in read_shares_by_file(paths) for s in shares]


def wipe_shares(groups: list[tuple[str, list[Share | RawShare]]]) -> None:
    for _path, shares in groups:
        for s in shares:
            s.payload.wipe()


def keyring_passphrase(profile: str, user: str) -> Secret | None:
    """The passphrase kept in the OS keyring for this profile's user, if any."""
    return CredentialVault().get(profile, user)


def forget_keyring_passphrases(profile: str, users: tuple[str, ...] | list[str]) -> None:
    """Drop the passphrases kept in the OS keyring for these users of a profile (it is going away:
    a later profile of the same name may be another device, which must not get them)."""
    vault = CredentialVault()
    for user in users:
        vault.forget(profile, user)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def interactive() -> bool:
    """Someone at a terminal can both read a question and answer it."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def read_hidden(prompt: str, *, terminal_only: bool = False) -> str | None:
    """A line typed with echo off; None at end of input. With `terminal_only`, None also when
    there is no terminal (getpass would otherwise read a piped or redirected stdin)."""
    try:
        if not terminal_only:
            return getpass.getpass(prompt)
        with warnings.catch_warnings():
            # Without a terminal getpass warns, then reads stdin. The warning comes first, so as
            # an error it stops the read.
            warnings.simplefilter("error", getpass.GetPassWarning)
            return getpass.getpass(prompt)
    except (EOFError, getpass.GetPassWarning):
        return None


def ask(prompt: str) -> str:
    """One answer typed on the terminal; end of input (Ctrl+D) stops, with nothing changed."""
    try:
        return input(prompt)
    except EOFError:
        raise InputError("No answer (end of input); nothing was changed.") from None


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
    """A one-line bar on a terminal's stderr; silent in a pipe or file. It shows a percentage, or
    with `counts` "done/total" (items, not bytes); an unknown total counts KiB. With `keep=False`
    the line is erased when the bar closes, else it stays as a record of the finished work."""

    def __init__(
        self,
        label: str = "",
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        width: int = 30,
        counts: bool = False,
        keep: bool = True,
    ) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.width, self.counts, self.keep = width, counts, keep
        self.shown = False
        self._last: tuple[int, str] | None = None

    def __call__(self, done: int, total: int | None, detail: str = "") -> None:
        if not self.enabled:
            return
        prefix = f"{self.label} " if self.label else ""
        if total:
            shown = done if self.counts else done * 100 // total
            if (shown, detail) == self._last:
                return
            self._last = (shown, detail)
            filled = self.width * min(done, total) // total
            amount = f"{done}/{total}" if self.counts else f"{shown:3d}%"
            text = f"{prefix}[{'#' * filled}{'.' * (self.width - filled)}] {amount}"
        else:
            text = f"{prefix}{done // 1024} KiB"
        if detail:
            text = f"{text} {detail}"[:79]
        finished = self.keep and bool(total) and done >= (total or 0)
        self.stream.write(f"\r{text}" + ("\n" if finished else ""))
        self.stream.flush()
        self.shown = not finished

    def close(self) -> None:
        """End the bar's line (or erase it), so what follows starts on a clean line."""
        if self.shown:
            self.stream.write("\n" if self.keep else "\r" + " " * 79 + "\r")
            self.stream.flush()
            self.shown = False
