"""The device's key-value store (path → bytes) and hardware identity, in memory or in a state directory."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hsmconsole.backup.format import path_sort_key
from hsmconsole.errors import IntegrityError
from hsmconsole.fileio import write_private

__all__ = ["Hardware", "KVStore", "StoreFileError", "load_hardware", "save_hardware"]

STORE_FILE = "kv-store.json"
HARDWARE_FILE = "hardware.json"
_FORMAT = "hsmconsole-emulator-kv"
_HW_FORMAT = "hsmconsole-emulator-hardware"
_DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")
_VERSION_RE = re.compile(r"^-?[0-9]{1,9}\.-?[0-9]{1,9}$")


class StoreFileError(IntegrityError):
    """A state file that is not ours or is damaged; the message names the file, never its content."""

    def __init__(self, title: str) -> None:
        super().__init__(title, "Move the emulator state directory aside to start a fresh device.")


class KVStore:
    """Flat map of absolute paths ("/config/version") to raw values, as Mirage_kv keys print.

    With a state directory, the whole map is one snapshot file rewritten atomically (0600) after
    each mutation, or once at the end of a `batch()`; a crash leaves the old or the new snapshot.
    Not locked itself: the Hsm's lock serialises every access. `writes` counts the values written or
    removed since start (the device's "kv write" metric; RAM only, like every metric).
    """

    def __init__(self, state_dir: Path | None = None) -> None:
        self.writes = 0
        self._data: dict[str, bytes] = {}
        self._file = state_dir / STORE_FILE if state_dir is not None else None
        self._batch_depth = 0
        self._dirty = False
        if self._file is not None and self._file.exists():
            self._data = _read_snapshot(self._file)

    # --- reads ---------------------------------------------------------------------------------
    def get(self, path: str) -> bytes | None:
        return self._data.get(path)

    def __contains__(self, path: object) -> bool:
        return path in self._data

    def paths(self, prefix: str = "/") -> list[str]:
        """Paths under the directory `prefix` (which ends with "/"), in directory-walk order."""
        return sorted((p for p in self._data if p.startswith(prefix)), key=path_sort_key)

    def snapshot(self) -> dict[str, bytes]:
        return dict(self._data)

    # --- writes --------------------------------------------------------------------------------
    def set(self, path: str, value: bytes) -> None:
        if not path.startswith("/") or path.endswith("/"):
            raise ValueError("store paths are absolute file paths")
        self._data[path] = bytes(value)
        self._changed(1)

    def delete(self, path: str) -> None:
        if self._data.pop(path, None) is not None:
            self._changed(1)

    def delete_prefix(self, prefix: str) -> None:
        for path in [p for p in self._data if p.startswith(prefix)]:
            del self._data[path]
            self._changed(1)

    def replace_all(self, data: dict[str, bytes]) -> None:
        """Roll back to an earlier snapshot() (a restore that failed half-way)."""
        self._data = dict(data)
        self._changed(len(data))

    def clear(self) -> None:
        removed = len(self._data)
        self._data.clear()
        self._changed(removed)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group mutations into one snapshot write (restore writes dozens of records)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._dirty:
                self._persist()

    def _changed(self, writes: int) -> None:
        self.writes += writes
        self._dirty = True
        if self._batch_depth == 0:
            self._persist()

    def _persist(self) -> None:
        self._dirty = False
        if self._file is None:
            return
        doc = {
            "format": _FORMAT,
            "version": 1,
            "entries": {p: base64.b64encode(v).decode("ascii") for p, v in sorted(self._data.items())},
        }
        write_private(self._file, json.dumps(doc, indent=0).encode("utf-8"), overwrite=True)


def _read_snapshot(file: Path) -> dict[str, bytes]:
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
