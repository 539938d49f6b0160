"""The stores sealed under the domain key (authentication, key, namespace): their keys and records."""

from __future__ import annotations

from hsmconsole.emulator import devcrypto
from hsmconsole.emulator.hsm_types import STORES, corrupt
from hsmconsole.emulator.store import KVStore

__all__ = ["SealedStores"]


class SealedStores:
    """Records encrypted with per-store keys (§7). Holds the keys only while the device is Operational;
    the Hsm's lock serialises every access."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv
        self.keys: dict[str, bytes] = {}

    def create(self, dk: bytes) -> None:
        """Write each store's ".version" entry for a new domain key (provisioning)."""
        keys = {name: devcrypto.store_key(dk, name) for _, name in STORES}
        for prefix, name in STORES:
            path = prefix + ".version"
            self._kv.set(path, devcrypto.encrypt(keys[name], path.encode(), b"0"))

    def open(self, dk: bytes) -> None:
        """Derive the store keys and check each ".version" entry opens; 500 "Corrupted database" if not."""
        keys = {name: devcrypto.store_key(dk, name) for _, name in STORES}
        for prefix, name in STORES:
            version_path = prefix + ".version"
            raw = self._kv.get(version_path)
            if raw is None:
                # The device initialises a missing store (e.g. namespaces in old backups) on the fly.
                self._kv.set(version_path, devcrypto.encrypt(keys[name], version_path.encode(), b"0"))
                continue
            try:
                devcrypto.decrypt(keys[name], version_path.encode(), raw)
            except devcrypto.DecryptError:
                raise corrupt(version_path) from None
        self.keys = keys

    def close(self) -> None:
        self.keys = {}

    def get(self, path: str, store: str) -> bytes | None:
        raw = self._kv.get(path)
        if raw is None:
            return None
        try:
            return devcrypto.decrypt(self.keys[store], path.encode(), raw)
        except devcrypto.DecryptError:
            raise corrupt(path) from None

    def put(self, path: str, store: str, value: bytes) -> None:
        self._kv.set(path, devcrypto.encrypt(self.keys[store], path.encode(), value))
