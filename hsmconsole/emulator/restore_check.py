"""Checks on a backup's user, key and namespace records before a restore writes any of them (§8.1)."""

from __future__ import annotations

from collections.abc import Iterable

from hsmconsole.backup.format import BackupError
from hsmconsole.emulator import devcrypto
from hsmconsole.emulator.hsm_keys import check_key_record, check_key_usable
from hsmconsole.emulator.hsm_types import STORES, is_valid_id, is_valid_user_id
from hsmconsole.emulator.hsm_users import check_namespace_record, check_user_record
from hsmconsole.emulator.records import RecordError, load_key_record

__all__ = ["check_backup_records"]

_NOT_RESTORED = "Backup not restored:"


def _valid_path(prefix: str, name: str) -> bool:
    if name == ".version":
        return True
    if prefix == "/authentication/":
        return is_valid_user_id(name)
    if prefix == "/key/" and name.startswith("."):
        namespace, sep, key_id = name[1:].partition("/")
        return bool(sep) and is_valid_id(namespace) and is_valid_id(key_id)
    return is_valid_id(name)


def _check_content(prefix: str, name: str, plain: bytes) -> None:
    if name == ".version":
        return
    if prefix == "/authentication/":
        check_user_record(plain)
    elif prefix == "/key/":
        record = load_key_record(plain)
        check_key_record(record)
        check_key_usable(record)
    else:
        check_namespace_record(name, plain)


def check_backup_records(records: Iterable[tuple[str, bytes]], store_keys: dict[str, bytes] | None) -> None:
    """BackupError (the restore answers 400 and writes nothing) if a user, key or namespace record
    has a path that is not a valid id; and, when `store_keys` (the stores of the domain key in use)
    open the backup's records, if one does not open or is malformed (bad JSON, wrong field types,
    unknown fields, a private key that does not load). Records sealed with another domain key (a full
    restore, or a backup of another device) cannot be read before unlock: they are checked when read,
    and a malformed one then answers the device's 500 "Corrupted database: <path>"."""
    slots: list[tuple[str, str, str, bytes]] = []
    for path, value in records:
        for prefix, store in STORES:
            if path.startswith(prefix):
                name = path[len(prefix) :]
                if not _valid_path(prefix, name):
                    raise BackupError(f"{_NOT_RESTORED} the record {path} has an invalid id.")
                slots.append((path, prefix, store, value))
    if not store_keys or not slots:
        return
    opened: list[bytes | None] = []
    for path, _prefix, store, value in slots:
        try:
            opened.append(devcrypto.decrypt(store_keys[store], path.encode(), value))
        except devcrypto.DecryptError:
            opened.append(None)
    if all(plain is None for plain in opened):
        return  # another domain key
    for (path, prefix, _store, _value), plain in zip(slots, opened, strict=True):
        if plain is None:
            reason = "does not decrypt with the backup's domain key"
            raise BackupError(f"{_NOT_RESTORED} the record {path} {reason}.")
        try:
            _check_content(prefix, path[len(prefix) :], plain)
        except RecordError as exc:
            raise BackupError(f"{_NOT_RESTORED} the record {path} is malformed ({exc}).") from None
