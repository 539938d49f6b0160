"""`hsmconsole shares …`: scripting access to custodian shares (split, combine, check, envelopes)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import re
import sys
from pathlib import Path

from hsmconsole import fileio
from hsmconsole.alphabet import as_typed
from hsmconsole.commands import inputs
from hsmconsole.commands.common import usage
from hsmconsole.custody import envelope
from hsmconsole.custody.passgen import generate_passphrase
from hsmconsole.custody.sharecode import ALPHABET
from hsmconsole.custody.shares import (
    RAW_SHARE_WARNING,
    RawShare,
    SecretKind,
    SetRef,
    Share,
    combine_raw_shares,
    encode_share,
)
from hsmconsole.custody.split import combine_shares, split_secret
from hsmconsole.errors import InputError
from hsmconsole.secrets import Secret

_SHORT_SECRET = 16


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    shares = sub.add_parser(
        "shares",
        help="split, combine and check custodian shares",
        description="Custodian shares. Secrets and shares are read from files ('-' is stdin), "
        "never from the command line; every file written is created atomically with mode 0600.",
    )
    shares.set_defaults(handler=lambda _args: usage(shares))
    ssub = shares.add_subparsers(dest="shares_command", metavar="ACTION")

    p = ssub.add_parser("split", help="split a secret file into share files, one per custodian")
    p.add_argument("--threshold", "-k", type=int, required=True, help="shares needed to combine")
    p.add_argument("--shares", "-n", type=int, required=True, help="shares to make")
    p.add_argument("--secret-file", required=True, help="file holding the secret, or - for stdin")
    p.add_argument("--out-dir", required=True, help="directory for the share files")
    p.add_argument(
        "--kind", choices=[k.value for k in SecretKind], default="unlock",
        help="which secret this is (default: unlock)",
    )  # fmt: skip
    p.add_argument("--label", default="", help="name of a custom secret (with --kind custom)")
    p.add_argument("--set-id", help="keep this set id (rotation); default: a new random one")
    p.add_argument("--generation", type=int, default=1, help="generation number (default 1)")
    p.add_argument(
        "--binary", action="store_true",
        help="use the file's bytes exactly; by default one trailing LF or CRLF is dropped",
    )  # fmt: skip
    p.set_defaults(handler=_split)

    p = ssub.add_parser("combine", help="combine share files into the secret")
    p.add_argument("files", nargs="+", metavar="FILE", help="share files ('-' for stdin)")
    p.add_argument("--out", required=True, help="file to write the secret to (mode 0600)")
    p.add_argument("--expect-set", help="refuse shares of any other set id")
    p.add_argument("--expect-generation", type=int, help="refuse shares of any other generation")
    p.add_argument(
        "--threshold", type=int,
        help="for raw base64 shares only, which do not record their threshold",
    )  # fmt: skip
    p.set_defaults(handler=_combine)

    p = ssub.add_parser("check", help="check share files without combining them")
    p.add_argument("files", nargs="+", metavar="FILE", help="share files ('-' for stdin)")
    p.set_defaults(handler=_check)

    p = ssub.add_parser("generate", help="generate a NetHSM passphrase (256 bits) into a file")
    p.add_argument("--out", required=True, help="file to write the passphrase to (mode 0600)")
    p.set_defaults(handler=_generate)

    p = ssub.add_parser(
        "seal",
        help="encrypt share files into an envelope under a passphrase",
        description="The envelope passphrase is typed twice at the terminal with echo off; it is "
        "never read from a pipe, a file, the command line or the environment.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="share files ('-' for stdin)")
    p.add_argument("--out", required=True, help="envelope file to write (mode 0600)")
    p.set_defaults(handler=_seal)

    p = ssub.add_parser(
        "open",
        help="decrypt an envelope back into a share file",
        description="The envelope passphrase is typed at the terminal with echo off; it is never "
        "read from a pipe, a file, the command line or the environment.",
    )
    p.add_argument("envelope", help="envelope file")
    p.add_argument("--out", required=True, help="share file to write (mode 0600)")
    p.set_defaults(handler=_open)


def _read(path: str) -> bytes:
    return inputs.read_limited(
        path, inputs.MAX_SHARE_FILE, too_big=InputError(f"{path} is too big to be a secret or a share")
    )


def _write_error(path: Path, exc: OSError) -> InputError:
    if isinstance(exc, NotADirectoryError):
        return InputError(
            f"{exc.filename or path.parent} is a file, not a directory",
            f"Choose another place for {path.name}; nothing was written.",
        )
    if isinstance(exc, FileExistsError):
        return InputError(f"{path} already exists", "Choose another name; nothing was overwritten.")
    return InputError(f"cannot write {path}: {exc.strerror}", "Nothing was written.")


def _write_new(path: Path, data: bytes) -> None:
    try:
        fileio.write_private(path, data)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _refuse_existing(path: Path) -> None:
    """Refuse, before any work or passphrase prompt, an output that cannot be written."""
    try:
        blocker = fileio.file_in_the_way(path.parent)
        exists = path.exists() or path.is_symlink()
    except OSError as exc:
        raise _write_error(path, exc) from None
    if blocker is not None:
        raise _write_error(path, NotADirectoryError(errno.ENOTDIR, "Not a directory", str(blocker)))
    if exists:
        raise InputError(f"{path} already exists", "Choose another name; nothing was written.")


def _split(args: argparse.Namespace) -> int:
    data = _read(args.secret_file)
    if not args.binary:
        data = inputs.without_newline(data)
    secret = Secret(data, "secret")
    data = b""
    shares = split_secret(
        secret,
        threshold=args.threshold,
        count=args.shares,
        kind=SecretKind(args.kind),
        label=args.label,
        set_id=args.set_id,
        generation=args.generation,
    )
    meta = shares[0].set
    out_dir = Path(args.out_dir)
    stem = meta.label if meta.kind is SecretKind.CUSTOM else meta.kind.value
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in stem)
    targets = [
        out_dir / f"{stem}-{meta.set_id}-g{meta.generation}-{s.index}of{meta.count}.share"
        for s in shares
    ]
    for t in targets:
        _refuse_existing(t)
    try:
        fileio.make_directory(out_dir, mode=0o700)
    except OSError as exc:
        raise _write_error(targets[0], exc) from None
    written: list[Path] = []
    try:
        for share, target in zip(shares, targets, strict=True):
            _write_new(target, encode_share(share).reveal())
            written.append(target)
    except BaseException:
        for w in written:
            with contextlib.suppress(OSError):
                w.unlink()
        raise
    print(f"Split the {meta.describe()}:")
    for share, target in zip(shares, targets, strict=True):
        print(f"  share {share.index}: {target}  (fingerprint {share.fingerprint})")
    if len(secret) < _SHORT_SECRET:
        print(
            f"warning: the secret is shorter than {_SHORT_SECRET} bytes. Each share carries a "
            "commitment that lets its holder test guesses of the secret offline: split only "
            "secrets with plenty of entropy.",
            file=sys.stderr,
        )
    secret.wipe()
    return 0


def _combine(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _refuse_existing(out)
    parsed = inputs.read_share_files(args.files)
    raw = [s for s in parsed if isinstance(s, RawShare)]
    formatted = [s for s in parsed if isinstance(s, Share)]
    if raw and formatted:
        raise InputError(
            f"{raw[0].name} is a raw base64 share, mixed with hsmconsole shares",
            "Combine shares of one split, all in one format.",
        )
    if raw:
        if args.threshold is None:
            raise InputError(
                "raw base64 shares do not record their threshold", "Give it with --threshold K."
            )
        print(f"warning: {RAW_SHARE_WARNING}", file=sys.stderr)
        secret = combine_raw_shares(raw, threshold=args.threshold)
    else:
        if args.threshold is not None:
            raise InputError("--threshold is only for raw shares: hsmconsole shares record theirs")
        expect = _expected(args, formatted[0])
        secret = combine_shares(formatted, expect=expect)
    try:
        _write_new(out, secret.reveal())
    finally:
        secret.wipe()
    if formatted:
        meta = formatted[0].set
        print(f"Combined {len(formatted)} shares of the {meta.describe()} into {out}.")
    else:
        print(f"Combined {len(raw)} raw shares into {out} (unverified).")
    return 0


def _expected(args: argparse.Namespace, first: Share) -> SetRef | None:
    """--expect-set / --expect-generation as a SetRef; what is not given is taken from the shares."""
    if args.expect_set is None and args.expect_generation is None:
        return None
    set_id, generation = first.set.set_id, first.set.generation
    if args.expect_set is not None:
        set_id = as_typed(args.expect_set)
        if not re.fullmatch(f"[{ALPHABET}]{{8}}", set_id):
            raise InputError("--expect-set takes a set id: 8 characters of the share alphabet")
    if args.expect_generation is not None:
        generation = args.expect_generation
        if not 1 <= generation <= 0xFFFF:
            raise InputError("--expect-generation takes a generation from 1 to 65535")
    return SetRef(set_id, generation)


def _check(args: argparse.Namespace) -> int:
    failures = 0
    good: list[Share] = []
    for path in args.files:
        try:
            shares = inputs.read_share_files([path])
        except InputError as exc:
            failures += 1
            print(f"{inputs.source_name(path)}: REFUSED: {exc.title}")
            if exc.hint:
                print(f"    {exc.hint}")
            continue
        for s in shares:
            if isinstance(s, RawShare):
                print(f"{s.source}: raw base64 share (x={s.x}); {RAW_SHARE_WARNING}")
                continue
            good.append(s)
            m = s.set
            print(
                f"{s.source}: OK: {m.secret_name}, set {m.set_id} generation {m.generation}, "
                f"share {s.index} of {m.count}, threshold {m.threshold}, "
                f"fingerprint {s.fingerprint}"
            )
    by_set: dict[object, list[Share]] = {}
    for s in good:
        by_set.setdefault(s.set, []).append(s)
    for members in by_set.values():
        m = members[0].set
        distinct = len({s.index for s in members})
        enough = "enough to combine" if distinct >= m.threshold else "not enough to combine"
        print(f"{m.describe()}: {distinct} distinct share(s) of {m.threshold} needed: {enough}")
    if failures:
        raise InputError(f"{failures} of {len(args.files)} file(s) failed the check")
    return 0


def _generate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    secret = generate_passphrase()
    try:
        _write_new(out, secret.reveal())
    finally:
        secret.wipe()
    print(f"Wrote a new 256-bit passphrase to {out}.")
    return 0


def _getpass(prompt: str) -> Secret:
    typed = inputs.read_hidden(prompt, terminal_only=True)
    if typed is None:
        # getpass reads the terminal, or stdin without one; stdin was empty or already read.
        raise InputError(
            "no passphrase could be read (no terminal)",
            "Run this from a terminal: the passphrase is typed there with echo off, never read "
            "from a file, the command line or the environment. Nothing was written.",
        )
    return Secret(typed, "envelope passphrase")


def _ask_passphrase(prompt: str, *, confirm: bool) -> Secret:
    first = _getpass(prompt)
    if confirm:
        again = _getpass("Again, to confirm: ")
        if first != again:
            raise InputError("the two passphrases differ", "Nothing was written; try again.")
    return first


def _seal(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _refuse_existing(out)
    parsed = inputs.read_share_files(args.files)
    shares = [s for s in parsed if isinstance(s, Share)]
    if len(shares) != len(parsed):
        raise InputError("only hsmconsole shares can be sealed, not raw base64 ones")
    passphrase = _ask_passphrase("Envelope passphrase: ", confirm=True)
    try:
        data = envelope.seal(shares, passphrase)
    finally:
        passphrase.wipe()
    _write_new(out, data)
    print(f"Sealed {len(shares)} share(s) into {out}.")
    return 0


def _open(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _refuse_existing(out)
    data = _read(args.envelope)
    info = envelope.envelope_info(data)
    for e in info.contents:
        print(f"Envelope holds share {e.index} of {e.count} of set {e.set_id} ({e.kind}).")
    for name in info.passphrases:
        # Only the shares are written out; a sealed passphrase stays in the envelope.
        print(f"Envelope also holds the passphrase of {name} (not written to {out}).")
    passphrase = _ask_passphrase("Envelope passphrase: ", confirm=False)
    try:
        shares = envelope.open_envelope(data, passphrase)
    finally:
        passphrase.wipe()
    text = b"\n".join(encode_share(s).reveal() for s in shares)
    _write_new(out, text)
    print(f"Wrote {len(shares)} share(s) to {out}.")
    return 0

