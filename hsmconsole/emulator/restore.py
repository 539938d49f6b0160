"""Writing a decrypted backup into the device's store (reference §9, hsm.ml System.restore)."""

from __future__ import annotations

import contextlib

from hsmconsole.backup.format import BackupContents, BackupError
from hsmconsole.emulator import devcrypto
from hsmconsole.emulator.configstore import LOCAL, ConfigStore, DomainKeyStore, migrate_v0
from hsmconsole.emulator.store import KVStore

__all__ = ["apply_full", "apply_partial", "replace_locked_domain_key"]

_SLOT_PREFIXES = ("/authentication/", "/key/", "/namespace/")
# Global config a partial restore takes over (all sealed with the backup's domain key).
_PARTIAL_GLOBALS = ("/config/backup-key", "/config/backup-salt", "/config/cluster-ca")


def _check_version(kv: KVStore) -> bytes | None:
    version = kv.get("/config/version")
    if version not in (None, b"0", b"1"):
        raise BackupError(
            "could not apply migrations to old backup: store has higher version than software, "
            "please update software version"
        )
    return version


def _rekey_local_config(
    cfg: ConfigStore, backup_device_id: str, backup_config_key: bytes, names: tuple[str, ...]
) -> None:
    """Re-encrypt the backup device's early config for this device (its id and config device key)."""
    for name in names:
        path = f"/local/{backup_device_id}/config/{name}"
        raw = cfg.kv.get(path)
        if raw is None:
            continue
        if backup_device_id != cfg.device_id:
            cfg.kv.delete(path)
        try:
            value = devcrypto.decrypt(backup_config_key, path.encode(), raw)
        except devcrypto.DecryptError:
            continue  # the device logs and skips values it cannot read
        cfg.set(name, value)


def apply_full(kv: KVStore, cfg: ConfigStore, dks: DomainKeyStore, backup: BackupContents) -> None:
    """Unprovisioned: write every record (v1: only this backup device's /local records), then move
    the local config and domain-key slots to this device, or migrate a v0 store to v1."""
    bdev = backup.device_id
    for path, value in backup.records:
        segments = path.split("/")
        if bdev is not None and segments[1] == "local" and (len(segments) < 3 or segments[2] != bdev):
            continue
        kv.set(path, value)
    version = _check_version(kv)
    if backup.version == 0:
        if version == b"0":
            try:
                migrate_v0(cfg, dks)
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                raise BackupError(f"could not apply migrations to old backup: {type(exc).__name__}") from None
        return
    if bdev is None or backup.config_store_key is None:
        return
    if bdev != cfg.device_id or backup.config_store_key != cfg.config_device_key:
        _rekey_local_config(cfg, bdev, backup.config_store_key, LOCAL)
    if bdev != cfg.device_id:
        for slot in ("attended", "unattended"):
            dks.adopt(dks.path(slot, bdev), f"local/{bdev}/domain-key{slot}".encode(), slot)
        kv.delete_prefix(f"/local/{bdev}/")


def apply_partial(kv: KVStore, cfg: ConfigStore, backup: BackupContents) -> None:
    """Operational: users, keys, namespaces, unlock salt, backup key/salt and cluster CA from the
    backup; the same kinds of entries that the backup lacks are deleted; device config is kept."""
    wanted: set[str] = set()
    for path, value in backup.records:
        if path.startswith(_SLOT_PREFIXES) or path in _PARTIAL_GLOBALS:
            kv.set(path, value)
            wanted.add(path)
        elif backup.version == 0 and path == "/config/unlock-salt":
            cfg.set("unlock-salt", value)
        elif (
            backup.device_id is not None
            and backup.config_store_key is not None
            and path == f"/local/{backup.device_id}/config/unlock-salt"
        ):
            with contextlib.suppress(devcrypto.DecryptError):
                cfg.set("unlock-salt", devcrypto.decrypt(backup.config_store_key, path.encode(), value))
    for prefix in _SLOT_PREFIXES:
        for path in kv.paths(prefix):
            if path not in wanted:
                kv.delete(path)
    if "/config/cluster-ca" not in wanted:
        kv.delete("/config/cluster-ca")


def replace_locked_domain_key(dks: DomainKeyStore, locked_domain_key: bytes) -> bool:
    """Store the backup's locked DK unless the stored one is already it; True if it was replaced."""
    if dks.get("attended") == locked_domain_key:
        return False
    dks.set("attended", locked_domain_key)
    return True
