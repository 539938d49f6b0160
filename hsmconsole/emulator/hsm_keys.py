"""Key records in the device's key store, and their in-RAM operation counters."""

from __future__ import annotations

from typing import Any

from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm_sealed import SealedStores
from hsmconsole.emulator.hsm_types import corrupt, key_path
from hsmconsole.emulator.records import RecordError, dumps, load_key_record
from hsmconsole.emulator.store import KVStore

__all__ = ["Keys"]


class Keys:
    """/key/<id> and /key/.<ns>/<id> records (format in hsm.py's docstring). Like the device, counts
    operations in RAM and writes them back only at reboot or shutdown. No state checks: the Hsm
    checks the state and holds the lock."""

    def __init__(self, kv: KVStore, sealed: SealedStores) -> None:
        self._kv = kv
        self._sealed = sealed
        self._ops: dict[tuple[str, str], int] = {}

    def record(self, namespace: str, key_id: str) -> dict[str, Any] | None:
        """The stored record, without the in-RAM counter."""
        path = key_path(namespace, key_id)
        plain = self._sealed.get(path, "key_store")
        if plain is None:
            return None
        try:
            return load_key_record(plain)
        except RecordError:
            raise corrupt(path) from None

    def ids(self, namespace: str) -> list[str]:
        prefix = "/key/" if not namespace else f"/key/.{namespace}/"
        ids = [p.removeprefix(prefix) for p in self._kv.paths(prefix)]
        # Root listing skips ".version" and the ".<ns>/" directories, as the device's "0"-started range.
        return sorted((i for i in ids if "/" not in i and not i.startswith(".")), key=str.encode)

    def get(self, namespace: str, key_id: str) -> dict[str, Any] | None:
        record = self.record(namespace, key_id)
        if record is not None and (namespace, key_id) in self._ops:
            record["operations"] = self._ops[(namespace, key_id)]
        return record

    def put(self, namespace: str, key_id: str, record: dict[str, Any], *, create: bool) -> None:
        path = key_path(namespace, key_id)
        if create and self._kv.get(path) is not None:
            raise ApiError(400, f"Key with id {key_id} already exists")
        self._sealed.put(path, "key_store", dumps(record))
        self._ops.pop((namespace, key_id), None)  # the record now carries the count

    def delete(self, namespace: str, key_id: str) -> None:
        path = key_path(namespace, key_id)
        if self._kv.get(path) is None:
            raise ApiError(404)
        self._kv.delete(path)
        self._ops.pop((namespace, key_id), None)

    def count_operation(self, namespace: str, key_id: str) -> None:
        ref = (namespace, key_id)
        if ref not in self._ops:
            record = self.record(namespace, key_id)
            if record is None:
                raise ApiError(404)
            stored = record.get("operations", 0)
            self._ops[ref] = stored if isinstance(stored, int) else 0
        self._ops[ref] += 1

    def flush_counts(self, *, persist: bool) -> None:
        """Write changed counters into their records (if `persist`: the store is open), then forget them."""
        if persist:
            with self._kv.batch():
                for (namespace, key_id), count in self._ops.items():
                    record = self.record(namespace, key_id)
                    if record is not None and record.get("operations") != count:
                        record["operations"] = count
                        self._sealed.put(key_path(namespace, key_id), "key_store", dumps(record))
        self._ops.clear()

    def forget_counts(self, namespace: str | None = None) -> None:
        """Drop the in-RAM counters (of one namespace, or all) without writing them."""
        for ref in [r for r in self._ops if namespace is None or r[0] == namespace]:
            del self._ops[ref]
