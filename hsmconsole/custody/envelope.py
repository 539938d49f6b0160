"""Sealed envelopes: shares encrypted under a custodian's passphrase (Argon2id + AES-256-GCM)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from hsmconsole import fileio
from hsmconsole.custody.shares import Share, decode_share, encode_share
from hsmconsole.errors import AuthError, InputError, IntegrityError
from hsmconsole.secrets import Secret

MAGIC = b"hsmconsole-envelope v1"
MIN_PASSPHRASE = 10


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. The default is RFC 9106's second recommendation (64 MiB, 3 passes, 4 lanes)."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4


DEFAULT_KDF = KdfParams()
# Limits on what an envelope may ask of us, so a crafted file cannot exhaust memory or time.
_MAX_MEMORY_KIB = 1 << 20
_MAX_ITERATIONS = 16
_MAX_LANES = 16


@dataclass(frozen=True)
class EnvelopeEntry:
    """What the envelope says it holds: public share metadata, readable without the passphrase."""

    set_id: str
    generation: int
    kind: str
    label: str
    index: int
    count: int
    threshold: int
    fingerprint: str

    @classmethod
    def of(cls, share: Share) -> EnvelopeEntry:
        m = share.set
        return cls(
            m.set_id, m.generation, m.kind.value, m.label, share.index, m.count, m.threshold,
            share.fingerprint,
        )  # fmt: skip


@dataclass(frozen=True)
class EnvelopeInfo:
    kdf: KdfParams
    contents: tuple[EnvelopeEntry, ...]
    passphrases: tuple[str, ...] = ()  # the names of the sealed passphrases (public)


@dataclass(frozen=True, eq=False)
class SealedPassphrase:
    """A passphrase sealed next to the shares (a user passphrase the custodian was shown). `name`
    says whose it is and goes into the readable header; the passphrase itself is encrypted."""

    name: str
    passphrase: Secret = field(repr=False)


@dataclass(frozen=True, eq=False)
class EnvelopeContents:
    shares: list[Share]
    passphrases: list[SealedPassphrase]


_PASS_TAG = b"passphrase: "  # starts a passphrase block; a share block starts with HSMC1
_MAX_NAME = 100


def seal(
    shares: Sequence[Share], passphrase: Secret, *, kdf: KdfParams = DEFAULT_KDF,
    passphrases: Sequence[SealedPassphrase] = (),
) -> bytes:
    """Encrypt shares (and any `passphrases`) under `passphrase`. The header (KDF, contents, the
    passphrases' names) is authenticated, not secret. Without passphrases the file is exactly the
    format every earlier version reads."""
    if not shares and not passphrases:
        raise InputError("nothing to seal", "Give at least one share.")
    for item in passphrases:
        if not 0 < len(item.name) <= _MAX_NAME or not item.name.isprintable():
            raise InputError("a sealed passphrase needs a short printable name")
        if not len(item.passphrase) or any(c in item.passphrase.reveal() for c in b"\r\n"):
            raise InputError(f"the passphrase '{item.name}' cannot be sealed (empty or multi-line)")
    if len(passphrase) < MIN_PASSPHRASE:
        raise InputError(
            f"an envelope passphrase needs at least {MIN_PASSPHRASE} characters",
            "It protects a share on removable media: choose a long one.",
        )
    salt = os.urandom(16)
    nonce = os.urandom(12)
    key, check = _derive(passphrase, salt, kdf)
    header = {
        "check": _b64(check),
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)},
        "contents": [EnvelopeEntry.of(s).__dict__ for s in shares],
        "kdf": {
            "name": "argon2id",
            "memory_kib": kdf.memory_kib,
            "iterations": kdf.iterations,
            "lanes": kdf.lanes,
            "salt": _b64(salt),
        },
    }
    if passphrases:
        header["passphrases"] = [item.name for item in passphrases]
    aad = MAGIC + b"\n" + json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    texts = [encode_share(s).reveal() for s in shares]
    texts += [_PASS_TAG + item.passphrase.reveal() + b"\n" for item in passphrases]
    plaintext = b"\n".join(texts)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad)
    return aad + b"\n" + base64.b64encode(ciphertext) + b"\n"


def envelope_info(data: bytes) -> EnvelopeInfo:
    """Read an envelope's public header without the passphrase (what it claims to hold)."""
    info, _, _, _, _, _ = _parse(data)
    return info


def open_envelope(data: bytes, passphrase: Secret) -> list[Share]:
    """Decrypt and check an envelope; its shares (sealed passphrases are wiped: see
    open_envelope_contents). Wrong passphrase: AuthError; altered file: IntegrityError."""
    contents = open_envelope_contents(data, passphrase)
    for item in contents.passphrases:
        item.passphrase.wipe()
    return contents.shares


def open_envelope_contents(data: bytes, passphrase: Secret) -> EnvelopeContents:
    """Decrypt and check an envelope: its shares and the passphrases sealed with them."""
    info, aad, salt, nonce, check, ciphertext = _parse(data)
    key, expected = _derive(passphrase, salt, info.kdf)
    if not hmac.compare_digest(check, expected):
        raise AuthError(
            "wrong passphrase for this envelope",
            "Type the passphrase again. If you are sure of it, the envelope's header was altered.",
        )
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise IntegrityError(
            "the envelope was altered: its contents fail authentication",
            "Do not use it; use another copy of the share.",
        ) from None
    blocks = plaintext.split(b"\n\n")
    kept = [b.removeprefix(_PASS_TAG).removesuffix(b"\n") for b in blocks if b.startswith(_PASS_TAG)]
    sealed = [SealedPassphrase(name, Secret(value, label=f"sealed passphrase {name}"))
              for name, value in zip(info.passphrases, kept, strict=False)]
    try:
        shares = [decode_share(b.decode("ascii")) for b in blocks if not b.startswith(_PASS_TAG)]
    except (UnicodeDecodeError, InputError):
        raise IntegrityError("the envelope holds something that is not a share") from None
    finally:
        del plaintext, blocks, kept
    if tuple(EnvelopeEntry.of(s) for s in shares) != info.contents or len(sealed) != len(
        info.passphrases
    ):
        raise IntegrityError("the envelope's contents do not match its header")
    return EnvelopeContents(shares, sealed)


def write_envelope(
    path: Path | str, shares: Sequence[Share], passphrase: Secret, *, kdf: KdfParams = DEFAULT_KDF,
    passphrases: Sequence[SealedPassphrase] = (),
) -> Path:
    return fileio.write_private(path, seal(shares, passphrase, kdf=kdf, passphrases=passphrases))


def read_envelope(path: Path | str, passphrase: Secret) -> list[Share]:
    return open_envelope(Path(path).read_bytes(), passphrase)


def read_envelope_contents(path: Path | str, passphrase: Secret) -> EnvelopeContents:
    return open_envelope_contents(Path(path).read_bytes(), passphrase)


def _derive(passphrase: Secret, salt: bytes, kdf: KdfParams) -> tuple[bytes, bytes]:
    out = Argon2id(
        salt=salt,
        length=48,
        iterations=kdf.iterations,
        lanes=kdf.lanes,
        memory_cost=kdf.memory_kib,
    ).derive(passphrase.reveal())
    # 32 bytes of AES key, then 16 bytes that tell a wrong passphrase from a tampered file.
    return out[:32], out[32:]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    data = base64.b64decode(value.encode("ascii"), validate=True)
    if size is not None and len(data) != size:
        raise ValueError("wrong size")
    return data


_ENTRY_TYPES = {f.name: (str if f.type == "str" else int) for f in dataclasses.fields(EnvelopeEntry)}


def _entry(value: Any) -> EnvelopeEntry:
    if not isinstance(value, dict) or set(value) != set(_ENTRY_TYPES):
        raise ValueError("not an entry")
    if any(type(value[k]) is not t for k, t in _ENTRY_TYPES.items()):
        raise ValueError("not an entry")
    return EnvelopeEntry(**value)


def _kdf_number(value: Any, low: int, high: int) -> int:
    # Bounded before use, so a crafted file cannot make us exhaust memory or time (or overflow:
    # JSON allows 1e999). bool is an int subclass, hence the exact type test.
    if type(value) is not int or not low <= value <= high:
        raise IntegrityError(
            "the envelope asks for key-derivation settings out of bounds",
            f"At most {_MAX_MEMORY_KIB} KiB, {_MAX_ITERATIONS} passes and {_MAX_LANES} lanes are "
            "accepted; this file was altered or not made by hsmconsole.",
        )
    return value


def _parse(data: bytes) -> tuple[EnvelopeInfo, bytes, bytes, bytes, bytes, bytes]:
    lines = data.split(b"\n")
    if len(lines) < 3 or lines[0] != MAGIC:
        raise InputError("this is not an hsmconsole envelope", "Check the file name.")
    if len(lines) != 4 or lines[3] != b"":
        raise IntegrityError("the envelope file is damaged: unexpected lines")
    aad = lines[0] + b"\n" + lines[1]
    try:
        header = json.loads(lines[1])
        kdf_h = header["kdf"]
        if kdf_h["name"] != "argon2id" or header["cipher"]["name"] != "aes-256-gcm":
            raise ValueError("unknown algorithm")
        lanes = _kdf_number(kdf_h["lanes"], 1, _MAX_LANES)
        kdf = KdfParams(
            _kdf_number(kdf_h["memory_kib"], 8 * lanes, _MAX_MEMORY_KIB),
            _kdf_number(kdf_h["iterations"], 1, _MAX_ITERATIONS),
            lanes,
        )
        salt = _unb64(kdf_h["salt"])
        nonce = _unb64(header["cipher"]["nonce"], 12)
        check = _unb64(header["check"], 16)
        if not isinstance(header["contents"], list):
            raise ValueError("contents is not a list")
        contents = tuple(_entry(entry) for entry in header["contents"])
        names = header.get("passphrases", [])
        if not isinstance(names, list) or not all(
            isinstance(n, str) and 0 < len(n) <= _MAX_NAME for n in names
        ):
            raise ValueError("passphrases is not a list of names")
        ciphertext = base64.b64decode(lines[2], validate=True)
        if base64.b64encode(ciphertext) != lines[2]:
            raise ValueError("non-canonical base64")  # its spare bits could hide an edit
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError, RecursionError):
        # RecursionError: json.loads of a deeply nested header.
        raise IntegrityError("the envelope's header is damaged", "Use another copy.") from None
    if not 16 <= len(salt) <= 64:
        raise IntegrityError("the envelope asks for key-derivation settings out of bounds")
    return EnvelopeInfo(kdf, contents, tuple(names)), aad, salt, nonce, check, ciphertext
