"""Open a backup file offline: its framing, then (with passphrases) its outer and inner layers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hsmconsole.backup import format as fmt
from hsmconsole.backup.inventory import (
    Inventory,
    KeyEntry,
    UserEntry,
    classify,
    parse_key,
    parse_user,
)
from hsmconsole.device.tls import fingerprint_of
from hsmconsole.errors import HsmConsoleError, InputError, IntegrityError
from hsmconsole.secrets import Secret

_STORES = {"users": b"auth_store", "keys": b"key_store", "namespaces": b"namespace_store"}
_CHUNK = 1 << 16

Say = Callable[[str], None]


@dataclass(frozen=True)
class BackupReport:
    """What inspecting a backup found. Public data only: ids, names, types, never key material."""

    path: str
    size: int
    sha256: str
    version: int
    device_id: str  # "" for a v0 backup or when the backup passphrase was not given
    opened: bool  # the outer layer was opened (backup passphrase)
    detailed: bool  # the inner layer was opened too (unlock passphrase)
    records: int
    inventory: Inventory
    tls_fingerprint: str = ""  # of the certificate a full restore gives the device (outer layer)

    def to_json(self) -> dict[str, object]:
        inv = self.inventory
        out: dict[str, object] = {
            "path": self.path, "size": self.size, "sha256": self.sha256,
            "format_version": self.version, "device_id": self.device_id or None,
            "outer_layer_opened": self.opened, "inner_layer_opened": self.detailed,
            "tls_fingerprint": self.tls_fingerprint or None,
        }  # fmt: skip
        if self.opened:
            out["records"] = self.records
            out.update(inv.as_ids())
        if self.detailed:
            out["users"] = [
                {"id": u.user_id, "name": u.name, "role": u.role, "namespace": u.namespace or None,
                 "tags": list(u.tags)}
                for u in inv.users
            ]  # fmt: skip
            out["keys"] = [
                {"id": k.full_id, "type": k.key_type, "mechanisms": list(k.mechanisms),
                 "tags": list(k.tags), "certificate": k.certificate, "label": k.label or None}
                for k in inv.keys
            ]  # fmt: skip
        return out


class _Hashing:
    """A read-only stream that hashes what passes through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        return data

    def peek(self, n: int = 1) -> bytes:
        return self.raw.peek(n)  # type: ignore[attr-defined, no-any-return]


def backup_error(path: str, exc: fmt.BackupError, *, stage: str) -> HsmConsoleError:
    """The format's (device-worded) refusal as a message saying what is wrong and what to do."""
    msg = exc.message
    name = Path(path).name
    if msg == "Not a NetHSM backup file":
        return InputError(f"{name} is not a NetHSM backup file.", "Check that you chose the right file.")
    if msg.startswith("Version mismatch"):
        found = msg.split(", ")[1].split(" ")[-1]
        return InputError(
            f"{name} is a backup of a format this console does not read (version {found}).",
            "It reads formats 0 and 1; a newer device or console may read it.",
        )
    if "backup-version" in msg and "authentication failed" in msg:
        return InputError(
            f"The backup passphrase does not open {name}.",
            "Check the passphrase (or the shares): it is the one set when the backup was made.",
        )
    if "authentication failed" in msg:
        return IntegrityError(
            f"{name} was altered or damaged: a part of it fails its authentication check.",
            "Do not restore it; use another backup.",
        )
    if "truncated" in msg or "end of data" in msg or "cut short" in msg or "incomplete" in msg:
        return IntegrityError(f"{name} is incomplete: {msg}", "Use another backup (or copy this one again).")
    return IntegrityError(f"{name} is damaged ({stage}): {msg}", "Use another backup.")


def _open(path: str) -> BinaryIO:
    try:
        fh = open(path, "rb", buffering=_CHUNK)  # noqa: SIM115 - closed by the caller
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a backup file.") from None
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}.", "Check the file name.") from None
    return fh


def structure_of(path: str) -> tuple[fmt.Structure, str]:
    """The framing check (no key) and the file's SHA-256."""
    with _open(path) as fh:
        hashing = _Hashing(fh)
        try:
            structure = fmt.check_structure(hashing)  # type: ignore[arg-type]
        except fmt.BackupError as exc:
            raise backup_error(path, exc, stage="framing") from None
        while hashing.read(_CHUNK):
            pass
    return structure, hashing.sha.hexdigest()


def inspect_backup(
    path: str | Path,
    *,
    backup_passphrase: Secret | None = None,
    unlock_passphrase: Secret | None = None,
    say: Say | None = None,
) -> BackupReport:
    """Check the framing; with the backup passphrase open the outer layer (device id, ids of users,
    namespaces and keys); with the unlock passphrase too, the inner layer (their details).
    The file is read as a stream, one record at a time. Raises InputError/IntegrityError."""
    p = str(path)
    note = say or (lambda _m: None)
    structure, sha = structure_of(p)
    note(f"Framing checked: format {structure.version}, {structure.size} bytes.")
    if backup_passphrase is None:
        return BackupReport(p, structure.size, sha, structure.version, "", False, False, 0, Inventory())
    derived: dict[bytes, bytes] = {}

    def key_for(salt: bytes) -> bytes:
        # One scrypt per file, however many passes read it.
        if salt not in derived:
            derived[salt] = fmt.scrypt(backup_passphrase.reveal_str(), salt)
        return derived[salt]

    ids: dict[str, list[str]] = {"users": [], "namespaces": [], "keys": []}
    unlock_salt: bytes | None = None
    tls = ""
    count = 0
    with _open(p) as fh:
        try:
            opened = fmt.BackupStream(fh, key_for)
            head = opened.head
            for rpath, value in opened.records():
                count += 1
                kind = classify(rpath)
                if kind is not None:
                    ids[kind[0]].append(kind[1])
                elif rpath.endswith("/config/unlock-salt"):
                    unlock_salt = _local_config(head, rpath, value)
                elif rpath.endswith("/config/certificate"):
                    tls = _fingerprint(_local_config(head, rpath, value)) or tls
            if opened.truncated:
                raise fmt.BackupError("The backup file was cut short (truncated).")
        except fmt.BackupError as exc:
            raise backup_error(p, exc, stage="outer layer") from None
    note(f"Outer layer opened: {count} records.")
    inventory = Inventory(tuple(ids["users"]), tuple(ids["namespaces"]), tuple(ids["keys"]))
    report = BackupReport(
        p, structure.size, sha, head.version, head.device_id or "", True, False, count, inventory, tls
    )
    if unlock_passphrase is None:
        return report
    if unlock_salt is None:
        raise IntegrityError(f"{Path(p).name} has no unlock salt record.", "Use another backup.")
    try:
        dk = fmt.decrypt(fmt.scrypt(unlock_passphrase.reveal_str(), unlock_salt), b"passphrase",
                         head.locked_domain_key)  # fmt: skip
    except fmt.DecryptError:
        raise InputError(
            f"The unlock passphrase does not open {Path(p).name}.",
            "It is the unlock passphrase the device had when the backup was made.",
        ) from None
    users, keys = _inner(p, key_for, dk)
    note(f"Inner layer opened: {len(users)} users, {len(keys)} keys.")
    detailed = Inventory(inventory.user_ids, inventory.namespace_ids, inventory.key_ids,
                         tuple(users), tuple(keys), True)  # fmt: skip
    return BackupReport(
        p, structure.size, sha, head.version, head.device_id or "", True, True, count, detailed, tls
    )


def _fingerprint(chain: bytes) -> str:
    """The first certificate of the stored chain (4-byte big-endian length, then DER)."""
    if len(chain) < 4:
        return ""
    n = int.from_bytes(chain[:4], "big")
    return fingerprint_of(chain[4 : 4 + n]) if 0 < n <= len(chain) - 4 else ""


def _local_config(head: fmt.BackupHead, rpath: str, value: bytes) -> bytes:
    """A device-local config value: clear in format 0, sealed with the config store key in 1."""
    if head.version == 0 or head.config_store_key is None:
        return value  # v0 keeps its config in clear (reference §8.1)
    if not rpath.startswith(f"/local/{head.device_id}/config/"):
        return b""
    try:
        return fmt.decrypt(head.config_store_key, rpath.encode(), value)
    except fmt.DecryptError:
        raise fmt.BackupError(f"Could not decrypt {rpath}, authentication failed.") from None


def _inner(path: str, key_for: Callable[[bytes], bytes], dk: bytes) -> tuple[list[UserEntry], list[KeyEntry]]:
    """Second pass: records of the user, key and namespace stores, decrypted with the domain key's
    store keys. (The unlock salt comes after them in the file, hence a second pass.)"""
    ciphers = {kind: AESGCM(hashlib.sha256(dk + tag).digest()) for kind, tag in _STORES.items()}
    users: list[UserEntry] = []
    keys: list[KeyEntry] = []
    with _open(path) as fh:
        try:
            opened = fmt.BackupStream(fh, key_for)
            for rpath, value in opened.records():
                kind = classify(rpath)
                if kind is None:
                    continue
                if len(value) <= fmt.NONCE_LEN + fmt.TAG_LEN:
                    raise IntegrityError(f"The record {rpath} is cut short.", "Use another backup.")
                nonce, sealed = value[: fmt.NONCE_LEN], value[fmt.NONCE_LEN :]
                try:
                    plain = ciphers[kind[0]].decrypt(nonce, sealed, rpath.encode())
                except InvalidTag:
                    raise IntegrityError(
                        f"The record {rpath} does not open with the backup's domain key.",
                        "The backup was altered or damaged: use another backup.",
                    ) from None
                if kind[0] == "users":
                    users.append(parse_user(rpath, kind[1], plain))
                elif kind[0] == "keys":
                    keys.append(parse_key(rpath, kind[1], plain))
                del plain
        except fmt.BackupError as exc:
            raise backup_error(path, exc, stage="outer layer") from None
    return users, keys
