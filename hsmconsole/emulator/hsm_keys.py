"""Key records in the device's key store, and their in-RAM operation counters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from hsmconsole.emulator import keys
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm_sealed import SealedStores
from hsmconsole.emulator.hsm_types import corrupt, is_valid_id, key_path
from hsmconsole.emulator.records import RecordError, dumps, load_key_record
from hsmconsole.emulator.store import KVStore

__all__ = ["Keys", "check_key_record", "check_key_usable"]

_KEY_FIELDS = frozenset({"mechanisms", "priv", "cert", "operations", "restrictions", "label"})


def _is_b64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_pem_priv(priv: dict[str, Any]) -> bool:
    return set(priv) == {"PEM"} and isinstance(priv["PEM"], str) and priv["PEM"].isascii()


def _is_raw_priv(priv: dict[str, Any]) -> bool:
    return set(priv) == {"raw"} and _is_b64(priv["raw"])


def check_key_record(record: Any) -> None:
    """The key record's shape (reference §8.1), strictly, as the device decodes it: RecordError naming
    the field (never its value) if anything would break a handler or the API's schema."""

    def bad(reason: str) -> RecordError:
        return RecordError(reason)

    if not isinstance(record, dict):
        raise bad("not an object")
    if unknown := set(record) - _KEY_FIELDS:
        raise bad(f"unknown field {sorted(unknown)[0]}")
    mechanisms = record.get("mechanisms")
    if not isinstance(mechanisms, list) or not all(m in keys.MECHANISM_ORDER for m in mechanisms):
        raise bad("mechanisms must be a list of mechanism names")
    priv = record.get("priv")
    if not isinstance(priv, dict) or not (_is_pem_priv(priv) or _is_raw_priv(priv)):
        raise bad('priv must be {"PEM": <PEM>} or {"raw": <base64>}')
    cert = record.get("cert")
    if cert is not None and not (
        isinstance(cert, list) and len(cert) == 2 and isinstance(cert[0], str) and isinstance(cert[1], bytes)
    ):
        raise bad("cert must be null or [content type, data]")
    operations = record.get("operations", 0)
    if not isinstance(operations, int) or isinstance(operations, bool) or operations < 0:
        raise bad("operations must be a count")
    restrictions = record.get("restrictions", {})
    if not isinstance(restrictions, dict) or set(restrictions) - {"tags"}:
        raise bad('restrictions must be {"tags"?: [..]}')
    tags = restrictions.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and is_valid_id(t) for t in tags):
        raise bad("restrictions.tags must be a list of ids")
    label = record.get("label", "")
    if not isinstance(label, str) or len(label.encode()) > 32:
        raise bad("label must be text of at most 32 bytes")


def check_key_usable(record: dict[str, Any]) -> None:
    """The private key itself loads (PEM parsed and validated by OpenSSL): slower, so only at restore."""
    try:
        keys.key_type(record["priv"])
    except ApiError:
        raise RecordError("priv holds no usable private key") from None


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
            record = load_key_record(plain)
            check_key_record(record)
        except RecordError:
            raise corrupt(path) from None
        return record

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
        """create=True: 400 if the key exists; create=False: replace an existing key, 404 if it is gone
        (a replace must never bring a deleted key back)."""
        path = key_path(namespace, key_id)
        exists = self._kv.get(path) is not None
        if create and exists:
            raise ApiError(400, f"Key with id {key_id} already exists")
        if not create and not exists:
            raise ApiError(404)
        self._write(namespace, key_id, record)

    def _write(self, namespace: str, key_id: str, record: dict[str, Any]) -> None:
        self._sealed.put(key_path(namespace, key_id), "key_store", dumps(record))
        ref = (namespace, key_id)
        if ref in self._ops:
            # The record now carries the count. Kept (not dropped) in RAM: signatures counted while
            # this change is being written to disk then add to it, not to the older stored count.
            stored = record.get("operations", 0)
            self._ops[ref] = stored if isinstance(stored, int) else 0

    def update(
        self,
        namespace: str,
        key_id: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        missing: str | None,
    ) -> bool:
        """Read, change and write one record as one step (the caller holds the lock): `change` gets the
        record with its current operations count and returns the new record, or None to leave it as is.
        404 (message `missing`) if the key does not exist. True if the record was written."""
        record = self.get(namespace, key_id)
        if record is None:
            raise ApiError(404, missing)
        changed = change(record)
        if changed is None:
            return False
        self._write(namespace, key_id, changed)
        return True

    def move(self, namespace: str, key_id: str, new_id: str) -> None:
        """Rename a key with its record and count; 404 if it is gone, 409 if `new_id` is taken."""
        record = self.get(namespace, key_id)
        if record is None:
            raise ApiError(404)
        if self._kv.get(key_path(namespace, new_id)) is not None:
            raise ApiError(409, f"Key '{new_id}' already exists")
        with self._kv.batch():
            self._write(namespace, new_id, record)
            self.delete(namespace, key_id)

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
