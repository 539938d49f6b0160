"""The device's key-value store (path → bytes) and hardware identity, in memory or in a state directory."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hsmconsole.backup.format import path_sort_key
from hsmconsole.errors import IntegrityError
from hsmconsole.fileio import write_private

__all__ = [
    "Hardware", "KVStore", "StoreFileError", "StoreWriteError", "load_hardware", "save_hardware",
]

STORE_FILE = "kv-store.sqlite3"
LEGACY_STORE_FILE = "kv-store.json"
HARDWARE_FILE = "hardware.json"
_FORMAT = "hsmconsole-emulator-kv"
_HW_FORMAT = "hsmconsole-emulator-hardware"
_DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")
_VERSION_RE = re.compile(r"^-?[0-9]{1,9}\.-?[0-9]{1,9}$")


class StoreFileError(IntegrityError):
    """A state file that is not ours or is damaged; the message names the file, never its content."""

    def __init__(self, title: str, hint: str = "") -> None:
        super().__init__(
            title, hint or "Move the emulator state directory aside to start a fresh device."
        )


class StoreWriteError(Exception):
    """A change could not be made durable (disk full, I/O error): nothing of it was applied."""


Changes = dict[str, bytes | None]  # path → new value, None = removed


class KVStore:
    """Flat map of absolute paths ("/config/version") to raw values, as Mirage_kv keys print.

    Reads come from memory. With a state directory every value is also one row of an SQLite
    database in WAL mode (`kv-store.sqlite3`, 0600), so a change writes only its own rows and a
    commit costs the same at 10 or 35,000 keys. Changes are grouped in a transaction: `begin()`
    stages them (only the thread that began sees them), `end()` hands them over, `flush()` makes
    them durable (no lock needed: the caller serialises writers) and `apply()` makes them visible.
    A flush that fails raises StoreWriteError and leaves both the disk and the memory as they were.
    Outside a transaction each change is its own. Not locked itself: the Hsm's locks serialise
    access. `writes` counts the values written or removed since start (the device's "kv write"
    metric; RAM only, like every metric).
    """

    def __init__(self, state_dir: Path | None = None) -> None:
        self.writes = 0
        self._data: dict[str, bytes] = {}
        self._tx: Changes | None = None
        self._tx_owner: int | None = None
        self._tx_depth = 0
        self._db: sqlite3.Connection | None = None
        if state_dir is not None:
            self._db, self._data = _open_database(state_dir)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # --- reads ---------------------------------------------------------------------------------
    def _staged(self) -> Changes | None:
        if self._tx is not None and self._tx_owner == threading.get_ident():
            return self._tx
        return None

    def get(self, path: str) -> bytes | None:
        tx = self._staged()
        if tx is not None and path in tx:
            return tx[path]
        return self._data.get(path)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.get(path) is not None

    def paths(self, prefix: str = "/") -> list[str]:
        """Paths under the directory `prefix` (which ends with "/"), in directory-walk order."""
        found = {p for p in self._data if p.startswith(prefix)}
        tx = self._staged()
        if tx:
            for p, v in tx.items():
                if p.startswith(prefix):
                    (found.add if v is not None else found.discard)(p)
        return sorted(found, key=path_sort_key)

    def snapshot(self) -> dict[str, bytes]:
        out = dict(self._data)
        for p, v in (self._staged() or {}).items():
            if v is None:
                out.pop(p, None)
            else:
                out[p] = v
        return out

    # --- writes --------------------------------------------------------------------------------
    def set(self, path: str, value: bytes) -> None:
        if not path.startswith("/") or path.endswith("/"):
            raise ValueError("store paths are absolute file paths")
        with self.batch():
            self._stage(path, bytes(value))

    def delete(self, path: str) -> None:
        if self.get(path) is not None:
            with self.batch():
                self._stage(path, None)

    def delete_prefix(self, prefix: str) -> None:
        with self.batch():
            for path in self.paths(prefix):
                self._stage(path, None)

    def replace_all(self, data: dict[str, bytes]) -> None:
        """Roll back to an earlier snapshot() (a restore that failed half-way)."""
        with self.batch():
            for path in self.paths():
                if path not in data:
                    self._stage(path, None)
            for path, value in data.items():
                self._stage(path, value)

    def clear(self) -> None:
        self.delete_prefix("/")

    def _stage(self, path: str, value: bytes | None) -> None:
        assert self._tx is not None
        if value == self._data.get(path):
            self._tx.pop(path, None)  # back to what is stored: nothing to write
        else:
            self._tx[path] = value

    # --- transactions --------------------------------------------------------------------------
    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group changes into one transaction (nested in an open one, they join it). The changes
        made before an exception are still written, as each change was before batches existed."""
        if self._staged() is not None:
            self._tx_depth += 1
            try:
                yield
            finally:
                self._tx_depth -= 1
            return
        self.begin()
        try:
            yield
        finally:
            self.commit()

    def begin(self) -> None:
        if self._tx is not None:
            raise RuntimeError("a store transaction is already open")
        self._tx, self._tx_owner, self._tx_depth = {}, threading.get_ident(), 1

    def end(self) -> Changes:
        """Close the transaction; its changes, to flush() and apply() (or drop)."""
        changes = self._tx or {}
        self._tx, self._tx_owner, self._tx_depth = None, None, 0
        return changes

    def commit(self) -> None:
        """end(), flush() and apply() in one: StoreWriteError if the changes could not be written."""
        changes = self.end()
        self.flush(changes)
        self.apply(changes)

    def flush(self, changes: Changes) -> None:
        """Write the changes durably in one SQLite transaction, or nothing (StoreWriteError)."""
        if self._db is None or not changes:
            return
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM kv WHERE path = ?", [(p,) for p, v in changes.items() if v is None])
            db.executemany(
                "INSERT OR REPLACE INTO kv(path, value) VALUES (?, ?)",
                [(p, v) for p, v in changes.items() if v is not None],
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise StoreWriteError(f"the store could not be written ({type(exc).__name__})") from exc

    def apply(self, changes: Changes) -> None:
        """Make flushed changes visible to every reader."""
        for path, value in changes.items():
            if value is None:
                self._data.pop(path, None)
            else:
                self._data[path] = value
        self.writes += len(changes)


def _check_writable(state_dir: Path) -> None:
    """Create, write, sync and remove a probe file: a directory that cannot take a write is refused
    at start, not at the first change (which would then fail for every request)."""
    probe = state_dir / f".write-probe.{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        raise StoreFileError(
            f"The state directory {state_dir} cannot be written: {exc.strerror or type(exc).__name__}.",
            "Free some space or choose a writable directory with --state-dir.",
        ) from None
    probe.unlink()


def remove_leftovers(state_dir: Path) -> None:
    """Temporary files a killed emulator left behind (atomic writes cut short, probes)."""
    for pattern in (".*.tmp", ".write-probe.*"):
        for leftover in state_dir.glob(pattern):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _open_database(state_dir: Path) -> tuple[sqlite3.Connection, dict[str, bytes]]:
    remove_leftovers(state_dir)
    _check_writable(state_dir)
    file = state_dir / STORE_FILE
    legacy = state_dir / LEGACY_STORE_FILE
    if not file.exists():
        # Created 0600 before SQLite opens it: its -wal and -shm files take the same mode.
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT, 0o600))
    try:
        db = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
        try:
            if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
                raise StoreFileError(f"{file} cannot be opened in WAL mode")
            db.execute("PRAGMA synchronous=FULL")  # an acknowledged change survives a power cut
            db.execute("CREATE TABLE IF NOT EXISTS kv(path TEXT PRIMARY KEY, value BLOB NOT NULL)")
            data = {str(p): bytes(v) for p, v in db.execute("SELECT path, value FROM kv")}
            if not data and legacy.exists():
                data = _read_snapshot(legacy)
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO kv(path, value) VALUES (?, ?)", list(data.items()))
                db.execute("COMMIT")
                legacy.unlink()  # its content now lives in the database
        except BaseException:
            db.close()
            raise
    except sqlite3.Error as exc:
        raise StoreFileError(f"{file} is damaged or cannot be written ({type(exc).__name__})") from None
    return db, data


def _read_snapshot(file: Path) -> dict[str, bytes]:
    """The whole-store JSON snapshot of earlier emulator builds (migrated into the database)."""
    try:
        doc = json.loads(file.read_bytes())
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT or doc.get("version") != 1:
            raise StoreFileError(f"{file} is not an emulator store snapshot")
        entries = doc["entries"]
        if not isinstance(entries, dict):
            raise StoreFileError(f"{file} is damaged")
        return {str(p): base64.b64decode(v, validate=True) for p, v in entries.items()}
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise StoreFileError(f"{file} is damaged") from exc


@dataclass(frozen=True)
class Hardware:
    """What a real NetHSM keeps outside its store (TPM-sealed, or the firmware itself): survives factory
    reset, never backed up. `software_version` is set once a system update was committed."""

    device_id: str
    device_key: bytes
    software_version: str | None = None

    def __repr__(self) -> str:
        return (
            f"Hardware(device_id={self.device_id!r}, device_key=<redacted>, "
            f"software_version={self.software_version!r})"
        )


def load_hardware(state_dir: Path | None, default_device_id: str) -> Hardware:
    """The persisted hardware identity, created on first use. A stored device id wins over
    `default_device_id`: hardware does not change its id when the emulator is restarted."""
    if not _DEVICE_ID_RE.match(default_device_id):
        raise ValueError("device id must be 1..64 alphanumeric characters")
    if state_dir is None:
        return Hardware(default_device_id, os.urandom(32))
    file = state_dir / HARDWARE_FILE
    if file.exists():
        try:
            doc = json.loads(file.read_bytes())
            if not isinstance(doc, dict) or doc.get("format") != _HW_FORMAT:
                raise StoreFileError(f"{file} is not an emulator hardware file")
            device_id = doc["deviceId"]
            device_key = base64.b64decode(doc["deviceKey"], validate=True)
            version = doc.get("softwareVersion")
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise StoreFileError(f"{file} is damaged") from exc
        if not isinstance(device_id, str) or not _DEVICE_ID_RE.match(device_id) or len(device_key) != 32:
            raise StoreFileError(f"{file} is damaged")
        if version is not None and (not isinstance(version, str) or not _VERSION_RE.match(version)):
            raise StoreFileError(f"{file} is damaged")
        return Hardware(device_id, device_key, version)
    hw = Hardware(default_device_id, os.urandom(32))
    save_hardware(state_dir, hw)
    return hw


def save_hardware(state_dir: Path | None, hw: Hardware) -> None:
    """Write the hardware identity (mode 0600, atomically); nothing without a state directory."""
    if state_dir is None:
        return
    doc: dict[str, str] = {
        "format": _HW_FORMAT,
        "deviceId": hw.device_id,
        "deviceKey": base64.b64encode(hw.device_key).decode(),
    }
    if hw.software_version is not None:
        doc["softwareVersion"] = hw.software_version
    write_private(state_dir / HARDWARE_FILE, json.dumps(doc).encode("utf-8"), overwrite=True)
