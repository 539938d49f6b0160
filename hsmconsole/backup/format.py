"""The NetHSM backup file (reference §8): writer for format 1, reader for formats 0 and 1."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "HEADER",
    "TRAILER",
    "TRUNCATED_MESSAGE",
    "BackupContents",
    "BackupError",
    "BackupHead",
    "BackupStream",
    "DecryptError",
    "Structure",
    "check_structure",
    "decrypt",
    "encrypt",
    "field",
    "path_sort_key",
    "read_backup",
    "read_header",
    "scrypt",
    "write_backup",
]

# The device's crypto primitives for backups (reference §7): the emulator uses the same ones.
NONCE_LEN = 12
TAG_LEN = 16
SALT_LEN = 16
# hashlib's default maxmem (32 MiB) is below what N=16384, r=8 needs (16 MiB + overhead per p run).
_SCRYPT_MAXMEM = 64 * 1024 * 1024


class DecryptError(Exception):
    """An AEAD record that is too short (`truncated`) or fails authentication."""

    def __init__(self, truncated: bool) -> None:
        super().__init__("truncated data" if truncated else "authentication failed")
        self.truncated = truncated


def scrypt(passphrase: str, salt: bytes) -> bytes:
    """The device's KDF for the unlock and backup keys: N=16384, r=8, p=16, 32 bytes (≈0.7 s)."""
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=16384, r=8, p=16, dklen=32, maxmem=_SCRYPT_MAXMEM
    )


def encrypt(key: bytes, adata: bytes, plaintext: bytes) -> bytes:
    """`nonce(12) ‖ ciphertext ‖ tag(16)` with a fresh random nonce."""
    nonce = os.urandom(NONCE_LEN)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, adata)


def decrypt(key: bytes, adata: bytes, data: bytes) -> bytes:
    # The device refuses anything not longer than nonce + tag (Crypto.decrypt: Insufficient_data).
    if len(data) <= NONCE_LEN + TAG_LEN:
        raise DecryptError(truncated=True)
    try:
        return AESGCM(key).decrypt(data[:NONCE_LEN], data[NONCE_LEN:], adata)
    except InvalidTag:
        raise DecryptError(truncated=False) from None


def path_sort_key(path: str) -> tuple[bytes, ...]:
    """Order of a recursive directory walk (segments compared bytewise), which the device's backup uses.
    Differs from plain string order when a segment is a prefix of a sibling ("/a/b" before "/a-c")."""
    return tuple(seg.encode("utf-8") for seg in path.split("/"))


HEADER = b"_NETHSM_BACKUP_"
TRAILER = b"_NETHSM_BACKUP_END_"
VERSIONS = (0, 1)
MAX_FIELD = (1 << 24) - 1
TRUNCATED_MESSAGE = "The backup file was truncated. Present keys were still restored."


class BackupError(Exception):
    """A backup the device refuses, with the device's 400 message (safe to show: no secret in it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class BackupContents:
    """A decrypted backup. Record values stay as stored (inner layer still encrypted)."""

    version: int
    salt: bytes
    locked_domain_key: bytes
    device_id: str | None  # v1 only
    config_store_key: bytes | None  # v1 only: the backup device's config device key
    records: tuple[tuple[str, bytes], ...]
    truncated: bool  # records ended early: the device restores what it read, then answers 400

    def __repr__(self) -> str:
        return (
            f"BackupContents(version={self.version}, device_id={self.device_id!r}, "
            f"records={len(self.records)}, truncated={self.truncated})"
        )


def field(data: bytes) -> bytes:
    """3-byte big-endian length, then the bytes."""
    if len(data) > MAX_FIELD:
        raise ValueError("backup field longer than 16 MiB - 1")
    return len(data).to_bytes(3, "big") + data


def write_backup(
    *,
    backup_key: bytes,
    salt: bytes,
    locked_domain_key: bytes,
    device_id: str,
    config_store_key: bytes,
    records: Iterable[tuple[str, bytes]],
) -> bytes:
    """Format 1, as System.backup writes it: records in directory-walk order, then the trailer."""

    def enc(adata: bytes, plaintext: bytes) -> bytes:
        return field(encrypt(backup_key, adata, plaintext))

    parts = [
        HEADER + b"\x01",
        field(salt),
        enc(b"backup-version", b"\x01"),
        enc(b"domain-key", locked_domain_key),
        enc(b"backup-device-id", device_id.encode("ascii")),
        enc(b"backup-config-store-key", config_store_key),
    ]
    for path, value in sorted(records, key=lambda r: path_sort_key(r[0])):
        parts.append(enc(b"backup", field(path.encode("utf-8")) + value))
    parts.append(b"\x00\x00\x00" + TRAILER)
    return b"".join(parts)


class _Truncated(Exception):
    pass


class _Reader:
    """Reads fields from a binary stream (a file or BytesIO) without holding more than one field."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.pos = 0

    def take(self, n: int) -> bytes:
        out = self.stream.read(n) if n else b""
        if len(out) < n:
            self.pos += len(out)
            raise _Truncated
        self.pos += n
        return out

    def field(self) -> bytes:
        return self.take(int.from_bytes(self.take(3), "big"))

    def at_end(self) -> bool:
        peek = getattr(self.stream, "peek", None)
        if peek is not None:
            return not peek(1)
        here = self.stream.tell()
        end = self.stream.read(1)
        self.stream.seek(here)
        return not end


class _Ciphers:
    """One AESGCM object per key: building it costs more than decrypting a small record."""

    def __init__(self, key: bytes) -> None:
        self.aead = AESGCM(key)

    def open(self, adata: str, data: bytes) -> bytes:
        if len(data) <= NONCE_LEN + TAG_LEN:
            raise BackupError(f"Could not decrypt {adata}. Backup incomplete, try another one.")
        try:
            return self.aead.decrypt(data[:NONCE_LEN], data[NONCE_LEN:], adata.encode())
        except InvalidTag:
            raise BackupError(
                f"Could not decrypt {adata}, authentication failed. Is the passphrase correct?"
            ) from None


def _split_record(plain: bytes) -> tuple[str, bytes]:
    missing = "Missing length field in backup data. Backup not readable, try another one."
    if len(plain) < 3:
        raise BackupError(missing)
    n = int.from_bytes(plain[:3], "big")
    if len(plain) < 3 + n:
        raise BackupError(missing)
    try:
        raw_path = plain[3 : 3 + n].decode("utf-8")
    except UnicodeDecodeError:
        raise BackupError("Invalid key in backup data.") from None
    # Mirage_kv.Key.v drops empty segments: "a//b" and "/a/b" name the same entry.
    segments = [s for s in raw_path.split("/") if s]
    if not segments or any(s in (".", "..") for s in segments):
        raise BackupError("Invalid key in backup data.")
    return "/" + "/".join(segments), plain[3 + n :]


def _check_version(version: int) -> None:
    if version not in VERSIONS:
        expected = "".join(f" {v}" for v in VERSIONS)
        raise BackupError(
            f"Version mismatch on restore, provided backup version is {version}, "
            f"server expects one of [{expected}]"
        )


def _read_head(reader: _Reader) -> tuple[int, bytes]:
    try:
        magic = reader.take(len(HEADER) + 1)
    except _Truncated:
        raise BackupError("Not a NetHSM backup file") from None
    if not magic.startswith(HEADER):
        raise BackupError("Not a NetHSM backup file")
    version = magic[len(HEADER)]
    _check_version(version)
    try:
        return version, reader.field()
    except _Truncated:
        raise BackupError("Unexpected end of data") from None


def read_header(data: bytes) -> tuple[int, bytes]:
    """Format version and salt, checked in the device's order; no key needed yet."""
    return _read_head(_Reader(io.BytesIO(data)))


@dataclass(frozen=True)
class BackupHead:
    """The decrypted fields before the records."""

    version: int
    salt: bytes
    locked_domain_key: bytes
    device_id: str | None  # v1 only
    config_store_key: bytes | None  # v1 only

    def __repr__(self) -> str:
        return f"BackupHead(version={self.version}, device_id={self.device_id!r})"


class BackupStream:
    """A backup opened from a stream: `head` now, `records()` one at a time (the file is never read
    whole), then `truncated` says whether the records ended early."""

    def __init__(self, stream: BinaryIO, key_for_salt: Callable[[bytes], bytes]) -> None:
        self._reader = _Reader(stream)
        version, salt = _read_head(self._reader)
        self._ciphers = _Ciphers(key_for_salt(salt))
        open_ = self._ciphers.open
        try:
            inner = open_("backup-version", self._reader.field())
            if inner[:1] != bytes([version]):
                raise BackupError("Internal and external version mismatch.")
            locked_dk = open_("domain-key", self._reader.field())
            device_id: str | None = None
            config_key: bytes | None = None
            if version == 1:
                raw_id = open_("backup-device-id", self._reader.field())
                config_key = open_("backup-config-store-key", self._reader.field())
                device_id = raw_id.decode("ascii", errors="replace")
                if not device_id.isascii() or not device_id.isalnum():
                    raise BackupError("Invalid device ID in backup.")
        except _Truncated:
            raise BackupError("Unexpected end of data") from None
        self.head = BackupHead(version, salt, locked_dk, device_id, config_key)
        self.truncated = False
        self.trailing = False  # bytes after the v1 trailer (the device ignores them)

    def records(self) -> Iterator[tuple[str, bytes]]:
        reader, version = self._reader, self.head.version
        while True:
            if version == 0 and reader.at_end():
                return
            try:
                length = int.from_bytes(reader.take(3), "big")
                if length == 0 and version == 1:
                    # End-of-records marker; a missing trailer means the file was cut just here.
                    self.truncated = reader.take(len(TRAILER)) != TRAILER
                    self.trailing = not self.truncated and not reader.at_end()
                    return
                encrypted = reader.take(length)
            except _Truncated:
                self.truncated = True
                return
            yield _split_record(self._ciphers.open("backup", encrypted))


def read_backup(data: bytes, key_for_salt: Callable[[bytes], bytes]) -> BackupContents:
    """Parse and decrypt. `key_for_salt` turns the header salt into the backup key (scrypt of the
    passphrase, or the device's stored key); it may raise BackupError ("No backupPassphrase provided").
    Truncation among the records is not an error here: see BackupContents.truncated."""
    opened = BackupStream(io.BytesIO(data), key_for_salt)
    records = tuple(opened.records())
    h = opened.head
    return BackupContents(
        h.version, h.salt, h.locked_domain_key, h.device_id, h.config_store_key, records,
        opened.truncated,
    )


@dataclass(frozen=True)
class Structure:
    """What the outer framing says without any key: a check a downloaded file gets at once."""

    version: int
    size: int
    fields: int  # encrypted fields after the salt (head fields and records)
    complete: bool  # v1: end marker and trailer present, nothing after; v0: cannot tell (no trailer)


def check_structure(stream: BinaryIO) -> Structure:
    """Walk the length fields of a backup without decrypting; BackupError if the framing is broken
    (not a backup, other version, a field cut short, a field too short to be an AEAD record)."""
    reader = _Reader(stream)
    version, salt = _read_head(reader)
    if len(salt) != SALT_LEN:
        raise BackupError("The backup's salt has the wrong length: the file is damaged.")
    head = 2 if version == 0 else 4
    fields = 0
    while True:
        if version == 0 and reader.at_end():
            break
        try:
            length = int.from_bytes(reader.take(3), "big")
            if length == 0 and version == 1:
                if reader.take(len(TRAILER)) != TRAILER or not reader.at_end():
                    raise BackupError("The backup's end marker is damaged: the file is damaged.")
                break
            if length <= NONCE_LEN + TAG_LEN:
                raise BackupError("A backup field is too short to be encrypted: the file is damaged.")
            reader.take(length)
        except _Truncated:
            raise BackupError(
                "The backup file ends in the middle of a field: it was cut short (truncated)."
            ) from None
        fields += 1
    if fields < head:
        raise BackupError("The backup ends before its header fields: it was cut short (truncated).")
    return Structure(version, reader.pos, fields, version == 1)
