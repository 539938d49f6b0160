"""Backup and restore over the device's store: the backup file, and a restore written whole or rolled back."""

from __future__ import annotations

from hsmconsole.backup import format as backupfmt
from hsmconsole.emulator import devcrypto, restore, restore_check
from hsmconsole.emulator.configstore import ConfigStore, DomainKeyStore
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm_config import Settings
from hsmconsole.emulator.hsm_keys import Keys
from hsmconsole.emulator.hsm_types import corrupt
from hsmconsole.emulator.store import KVStore

__all__ = ["apply_backup", "read_backup", "write_backup"]


def write_backup(
    kv: KVStore, cfg: ConfigStore, dks: DomainKeyStore, settings: Settings, device_id: str
) -> bytes:
    """The backup file (§8, version 1). 412 "Please configure backup key before doing a backup."."""
    backup_key, salt = settings.config("backup-key"), settings.config("backup-salt")
    if backup_key is None or salt is None:
        raise ApiError(412, "Please configure backup key before doing a backup.")
    locked_dk = dks.get("attended")
    if locked_dk is None:
        raise corrupt(dks.path("attended"))
    return backupfmt.write_backup(
        backup_key=backup_key,
        salt=salt,
        locked_domain_key=locked_dk,
        device_id=device_id,
        config_store_key=cfg.config_device_key,
        records=kv.snapshot().items(),
    )


def read_backup(
    data: bytes, backup_passphrase: str | None, cfg: ConfigStore, *, operational: bool
) -> backupfmt.BackupContents:
    """Decrypt a backup; without a passphrase an Operational device tries its own backup key.
    400 with the device's message if it does not open."""

    def key_for_salt(salt: bytes) -> bytes:
        if backup_passphrase is not None:
            return devcrypto.scrypt(backup_passphrase, salt)
        if operational and cfg.get_lenient("backup-salt") == salt:
            stored = cfg.get_lenient("backup-key")
            if stored is not None:
                return stored
        raise backupfmt.BackupError("No backupPassphrase provided")

    try:
        return backupfmt.read_backup(bytes(data), key_for_salt)
    except backupfmt.BackupError as exc:
        raise ApiError(400, exc.message) from None


def apply_backup(
    kv: KVStore,
    cfg: ConfigStore,
    dks: DomainKeyStore,
    keys: Keys,
    contents: backupfmt.BackupContents,
    *,
    operational: bool,
    store_keys: dict[str, bytes] | None = None,
) -> bool:
    """Check the backup's records (restore_check; `store_keys`: the open stores, when Operational), then
    write it into the store in one batch, or leave the store as it was (400) if anything fails.
    True if the locked domain key changed."""
    before = kv.snapshot()
    try:
        restore_check.check_backup_records(contents.records, store_keys)
        with kv.batch():
            if operational:
                restore.apply_partial(kv, cfg, contents)
            else:
                restore.apply_full(kv, cfg, dks, contents)
            keys.forget_counts()  # key records were replaced; their stored counts are the truth now
            replaced = restore.replace_locked_domain_key(dks, contents.locked_domain_key)
            if operational and replaced:
                # A new domain key: unattended boot would open the old one, so the device turns it off.
                cfg.set("unattended-boot", b"0")
                dks.remove("unattended")
    except backupfmt.BackupError as exc:
        kv.replace_all(before)
        raise ApiError(400, exc.message) from None
    return replaced
