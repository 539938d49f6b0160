"""The NetHSM backup file (reference §8): writer for format 1, reader for formats 0 and 1."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "HEADER",
    "TRAILER",
    "TRUNCATED_MESSAGE",
    "BackupContents",
    "BackupError",
    "DecryptError",
    "decrypt",
    "encrypt",
    "field",
    "path_sort_key",
    "read_backup",
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
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if self.remaining() < n:
            raise _Truncated
        out = self.data[self.pos : self.pos + n].tobytes()
        self.pos += n
        return out

    def field(self) -> bytes:
        return self.take(int.from_bytes(self.take(3), "big"))


def _decrypt(key: bytes, adata: str, data: bytes) -> bytes:
    try:
        return decrypt(key, adata.encode(), data)
    except DecryptError as exc:
        if exc.truncated:
            raise BackupError(f"Could not decrypt {adata}. Backup incomplete, try another one.") from None
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


def read_header(data: bytes) -> tuple[int, bytes]:
    """Format version and salt, checked in the device's order; no key needed yet."""
    if len(data) < len(HEADER) + 1 or not data.startswith(HEADER):
        raise BackupError("Not a NetHSM backup file")
    version = data[len(HEADER)]
    if version not in VERSIONS:
        expected = "".join(f" {v}" for v in VERSIONS)
        raise BackupError(
            f"Version mismatch on restore, provided backup version is {version}, "
            f"server expects one of [{expected}]"
        )
    reader = _Reader(data)
    reader.pos = len(HEADER) + 1
    try:
        return version, reader.field()
    except _Truncated:
        raise BackupError("Unexpected end of data") from None


def read_backup(data: bytes, key_for_salt: Callable[[bytes], bytes]) -> BackupContents:
    """Parse and decrypt. `key_for_salt` turns the header salt into the backup key (scrypt of the
    passphrase, or the device's stored key); it may raise BackupError ("No backupPassphrase provided").
    Truncation among the records is not an error here: see BackupContents.truncated."""
    version, salt = read_header(data)
    key = key_for_salt(salt)
    reader = _Reader(data)
    reader.pos = len(HEADER) + 1 + 3 + len(salt)
    try:
        inner = _decrypt(key, "backup-version", reader.field())
        if inner[:1] != bytes([version]):
            raise BackupError("Internal and external version mismatch.")
        locked_dk = _decrypt(key, "domain-key", reader.field())
        device_id: str | None = None
        config_key: bytes | None = None
        if version == 1:
            raw_id = _decrypt(key, "backup-device-id", reader.field())
            config_key = _decrypt(key, "backup-config-store-key", reader.field())
            device_id = raw_id.decode("ascii", errors="replace")
            if not device_id.isascii() or not device_id.isalnum():
                raise BackupError("Invalid device ID in backup.")
    except _Truncated:
        raise BackupError("Unexpected end of data") from None

    records: list[tuple[str, bytes]] = []
    truncated = False
    while True:
        if version == 0 and reader.remaining() == 0:
            break
        try:
            length = int.from_bytes(reader.take(3), "big")
            if length == 0 and version == 1:
                # End-of-records marker; a missing trailer means the file was cut just here.
                truncated = reader.take(len(TRAILER)) != TRAILER
                break
            encrypted = reader.take(length)
        except _Truncated:
            truncated = True
            break
        records.append(_split_record(_decrypt(key, "backup", encrypted)))
    return BackupContents(version, salt, locked_dk, device_id, config_key, tuple(records), truncated)
