"""The emulated device: state machine, backup and restore, one locked API over its parts (hsm.ml).

CONTRACT between the model (this file) and the HTTP layer (app.py). The HTTP layer does routing,
the order of checks (state → method → authentication → authorization → content type → body
schema), rate limiting and JSON rendering; this model keeps the device's data in the device's own
store format (reference §7–§9) and raises ApiError for business errors (400/403/404/409/412 with
the device's messages). Identifiers reaching the model are already validated by the app.

Namespaces: "" is the root namespace. User ids are "id" or "ns~id". Key records are the JSON
objects the device stores under /key/<id> or /key/.<ns>/<id> (reference §8.1):
  {"mechanisms":[..],"priv":{"PEM":..}|{"raw":b64},"cert":null|[content_type,raw bytes],
   "operations":n,"restrictions":{"tags"?:[..]},"label"?:".."}
(keys.py interprets "priv"; the model stores the record encrypted with the key-store key.)

Parts: hsm_users (users, namespaces), hsm_keys (key records, operation counters), hsm_config
(settings), hsm_backup (backup, restore), hsm_sealed (the domain-key stores), hsm_types (shared types).
They check no state and take no lock: the public methods here take the one instance lock and make
the state checks.

Store layout (v1): /config/version, /config/{backup-salt,backup-key,cluster-ca} (sealed with
SHA-256(DK‖"config_store")), /local/<devid>/config/* (sealed with the config device key),
/local/<devid>/domain-key/{attended,unattended} (sealed with the device key), /authentication/<id>,
/key/<id>, /key/.<ns>/<id>, /namespace/<ns>, the three .version entries and /.initialized.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from hsmconsole.backup import format as backupfmt
from hsmconsole.emulator import devcrypto, hsm_backup, sysupdate
from hsmconsole.emulator.configstore import ConfigStore, DomainKeyStore
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm_config import Settings
from hsmconsole.emulator.hsm_keys import Keys
from hsmconsole.emulator.hsm_locking import (
    WRITE_FAILED,
    Transactional,
    _operational,
    _operational_reader,
    _reader,
    _record_change,
    _synchronized,
)
from hsmconsole.emulator.hsm_sealed import SealedStores
from hsmconsole.emulator.hsm_types import UNAVAILABLE, DeviceState, Role, UserRecord
from hsmconsole.emulator.hsm_users import Namespaces, Users
from hsmconsole.emulator.store import KVStore, load_hardware, save_hardware

__all__ = ["ApiError", "DeviceState", "Hsm", "Role", "UserRecord"]



class Hsm(Transactional):
    """One emulated NetHSM. Thread-safe, because the ASGI app calls it from several worker threads
    (slow scrypt calls run off the event loop). Two locks, always taken in this order:
    `_write_lock` serialises every change from its first read to its durable write; `_lock` guards
    the memory (state, keys, caches, the store's committed view) and is held only briefly by reads.
    Every change is one store transaction: if it cannot be made durable, the memory is put back as
    it was and the request answers 500 "Could not write to disk.", as the device does.
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        device_id: str = "0000000000",
        software_version: str = "5.0",
        update_key: rsa.RSAPublicKey | None = None,
    ) -> None:
        """Open (or create) the store and boot: Unprovisioned without /config/version, else Locked,
        or Operational with unattended boot. A fresh device gets a new P-256 TLS key and a
        self-signed certificate (CN=keyfender). `device_id` is this device's id (v1 store layout);
        with a state directory the id stored there on first use wins, like a hardware id.
        scrypt always uses the device's parameters (N=16384, r=8, p=16; ≈0.7 s here): the SDK's
        backup reader and the real backups depend on them, so there is no cheaper test mode.
        `update_key` is the RSA key whose signatures on update images are trusted (the device's vendor
        key); without one every update image is refused as unsigned. `software_version` is the firmware
        version until an update is committed (then the committed one, kept with the hardware identity)."""
        super().__init__()
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._state_dir = state_dir
        self._kv = KVStore(state_dir)  # first: it refuses a state directory that cannot be written
        try:
            self._hw = load_hardware(state_dir, device_id)
        except BaseException:
            self._kv.close()
            raise
        self._cfg = ConfigStore(
            self._kv, self._hw.device_id, devcrypto.config_device_key(self._hw.device_key)
        )
        self._dks = DomainKeyStore(self._kv, self._hw.device_id, self._hw.device_key)
        self._sealed = SealedStores(self._kv)
        self._users = Users(self._kv, self._sealed)
        self._namespaces = Namespaces(self._kv, self._sealed)
        self._keys = Keys(self._kv, self._sealed)
        self._settings = Settings(self._kv, self._cfg, self._dks)
        self._software_version = self._hw.software_version or software_version
        self._update_key = update_key
        self._state = DeviceState.UNPROVISIONED
        self._dk: bytes | None = None
        self._pending_update: str | None = None
        self._powered_off = False
        try:
            with self._write_lock, self._lock:
                self._transaction(Hsm._boot, False, False)
        except BaseException:
            self._kv.close()
            raise

    def close(self) -> None:
        """Close the store (the database connection); the object is unusable afterwards."""
        with self._write_lock, self._lock:
            self._kv.close()

    # --- transactions --------------------------------------------------------------------------
    def _memory(self) -> tuple[Any, ...]:
        """What a change may alter in memory besides the store (all replaced, never mutated in place,
        except the operation counters, which are copied)."""
        s = self._settings
        return (
            self._state, self._dk, self._pending_update, self._powered_off, self._hw,
            self._software_version, s.time_offset, s.tls_key_pem, s.tls_chain, self._sealed.keys,
            self._cfg.domain_config_key, dict(self._keys._ops),
        )  # fmt: skip

    def _require_operational(self) -> None:
        self._require(DeviceState.OPERATIONAL)

    def _restore_memory(self, saved: tuple[Any, ...]) -> None:
        s = self._settings
        (
            self._state, self._dk, self._pending_update, self._powered_off, self._hw,
            self._software_version, s.time_offset, s.tls_key_pem, s.tls_chain, self._sealed.keys,
            self._cfg.domain_config_key, self._keys._ops,
        ) = saved  # fmt: skip

    @property
    def _store_keys(self) -> dict[str, bytes]:
        # The unit tests read the per-store keys to check the store layout.
        return self._sealed.keys

    # --- boot and keys -------------------------------------------------------------------------
    def _forget_keys(self) -> None:
        self._dk = None
        self._sealed.close()
        self._cfg.domain_config_key = None

    def _boot(self) -> None:
        self._forget_keys()
        self._pending_update = None
        if self._kv.get("/config/version") is None:
            self._state = DeviceState.UNPROVISIONED
            self._settings.new_tls()
            return
        self._settings.load_local()
        self._state = DeviceState.LOCKED
        if self._settings.unattended_boot():
            dk = self._dks.get("unattended")
            if dk is not None:
                try:
                    self._enter_operational(dk)
                except ApiError:
                    self._forget_keys()  # the device logs "unattended boot failed" and stays Locked

    def _enter_operational(self, dk: bytes) -> None:
        self._sealed.open(dk)
        self._dk = dk
        self._cfg.domain_config_key = devcrypto.store_key(dk, "config_store")
        self._cfg.finish_v0_migration()
        self._state = DeviceState.OPERATIONAL

    def _require(self, *states: DeviceState) -> None:
        if self._powered_off or self._state not in states:
            raise ApiError(412, UNAVAILABLE)

    def _set_time(self, when: datetime) -> None:
        self._settings.set_time(when, persist=self._state is not DeviceState.UNPROVISIONED)

    # --- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> DeviceState:
        with self._lock:
            return self._state

    @property
    def powered_off(self) -> bool:
        """True after shutdown() until boot(): the HTTP layer should stop answering."""
        with self._lock:
            return self._powered_off

    @property
    def device_id(self) -> str:
        return self._hw.device_id

    @property
    def kv_writes(self) -> int:
        """Values written to or removed from the store since start (the "kv write" metric)."""
        with self._lock:
            return self._kv.writes

    @_synchronized
    def boot(self) -> None:
        """Power on again after shutdown() (or simulate a power cycle)."""
        self._powered_off = False
        self._boot()

    @_synchronized
    def provision(self, unlock_passphrase: str, admin_passphrase: str, system_time: datetime) -> None:
        """Unprovisioned → Operational: domain key, stores, user admin (realName "admin")."""
        self._require(DeviceState.UNPROVISIONED)
        started = time.monotonic()
        dk = os.urandom(32)
        unlock_salt = os.urandom(devcrypto.SALT_LEN)
        locked_dk = devcrypto.encrypt(devcrypto.scrypt(unlock_passphrase, unlock_salt), b"passphrase", dk)
        with self._kv.batch():
            self._kv.set("/.initialized", b"")
            self._cfg.set("version", b"1")
            self._sealed.create(dk)
            self._enter_operational(dk)
            self._users.put_new("admin", "admin", Role.ADMINISTRATOR, admin_passphrase)
            self._dks.set("attended", locked_dk)
            self._cfg.set("unlock-salt", unlock_salt)
            self._settings.store_initial()
            self._set_time(system_time + timedelta(seconds=time.monotonic() - started))

    @_synchronized
    def unlock(self, passphrase: str) -> None:
        """Locked → Operational; wrong passphrase → ApiError(403, "not authenticated")."""
        self._require(DeviceState.LOCKED)
        dk = self._settings.open_domain_key(passphrase)
        if dk is None:
            raise ApiError(403, "not authenticated")
        self._enter_operational(dk)

    @_operational
    def lock(self) -> None:
        self._forget_keys()
        self._state = DeviceState.LOCKED

    def _flush_operations(self) -> None:
        self._keys.flush_counts(persist=self._state is DeviceState.OPERATIONAL)

    @_synchronized
    def reboot(self) -> None:
        """Forget the domain key: Locked, or Operational with unattended boot."""
        self._flush_operations()
        self._boot()

    @_synchronized
    def shutdown(self) -> None:
        """Persist (operations counters) and behave as powered off until the next boot()."""
        self._flush_operations()
        self._forget_keys()
        if self._state is DeviceState.OPERATIONAL:
            self._state = DeviceState.LOCKED
        self._powered_off = True

    @_synchronized
    def factory_reset(self) -> None:
        """Erase everything; new TLS key; Unprovisioned. The device key and id are hardware: kept."""
        self._kv.clear()
        self._keys.forget_counts()
        self._settings.time_offset = 0
        self._boot()

    # --- authentication and users --------------------------------------------------------------
    @_reader
    def authenticate(self, user_id: str, passphrase: str) -> UserRecord | None:
        """The user if it exists and HMAC-SHA256(salt, passphrase) matches its digest, else None."""
        if self._state is not DeviceState.OPERATIONAL:
            return None
        return self._users.authenticate(user_id, passphrase)

    @_operational_reader
    def list_users(self, namespace: str | None) -> list[str]:
        """All user ids (namespace None = root admin view), or only those of `namespace`; byte-sorted."""
        return self._users.ids(namespace)

    @_operational_reader
    def get_user(self, user_id: str) -> UserRecord | None:
        return self._users.get(user_id)

    @_record_change
    def add_user(self, user_id: str, real_name: str, role: Role, passphrase: str) -> None:
        """409 "user already exists" if present."""
        self._users.add(user_id, real_name, role, passphrase)

    @_record_change
    def delete_user(self, user_id: str) -> None:
        self._users.delete(user_id)

    @_record_change
    def set_user_passphrase(self, user_id: str, passphrase: str) -> None:
        self._users.set_passphrase(user_id, passphrase)

    @_record_change
    def add_user_tag(self, user_id: str, tag: str) -> bool:
        """True if added, False if already present (→ 304)."""
        return self._users.add_tag(user_id, tag)

    @_record_change
    def delete_user_tag(self, user_id: str, tag: str) -> None:
        """ApiError(404) (empty body) if the tag is absent."""
        self._users.delete_tag(user_id, tag)

    # --- namespaces ----------------------------------------------------------------------------
    @_operational_reader
    def list_namespaces(self) -> list[str]:
        return self._namespaces.names()

    @_reader
    def namespace_exists(self, namespace: str) -> bool:
        """Root ("") always exists."""
        if not namespace:
            return True
        self._require(DeviceState.OPERATIONAL)
        return self._namespaces.exists(namespace)

    @_record_change
    def add_namespace(self, namespace: str) -> None:
        """400 "Namespace <ns> already exists" if present."""
        self._namespaces.add(namespace)

    @_record_change
    def delete_namespace(self, namespace: str) -> None:
        """Deletes the namespace and all its keys; its users remain."""
        self._namespaces.delete(namespace)
        self._keys.forget_counts(namespace)

    # --- keys (records as described in the module docstring) -----------------------------------
    @_operational_reader
    def list_keys(self, namespace: str) -> list[str]:
        return self._keys.ids(namespace)

    @_operational_reader
    def get_key(self, namespace: str, key_id: str) -> dict[str, Any] | None:
        """The stored record, with the in-RAM operations counter applied."""
        return self._keys.get(namespace, key_id)

    @_record_change
    def put_key(self, namespace: str, key_id: str, record: dict[str, Any], *, create: bool) -> None:
        """create=True: 400 "Key with id <id> already exists" if present. create=False: replace an
        existing key (404 if it is gone). To change a record, use update_key: a read here and a write
        later would lose concurrent changes."""
        self._keys.put(namespace, key_id, record, create=create)

    @_record_change
    def update_key(
        self,
        namespace: str,
        key_id: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        missing: str | None = None,
    ) -> bool:
        """Atomic read-modify-write of a key record under the instance lock. `change` gets the record
        (operations count applied) and returns the new one, or None for "unchanged"; it may raise
        ApiError and must be quick. 404 (message `missing`) if the key is absent. True if written."""
        return self._keys.update(namespace, key_id, change, missing)

    @_record_change
    def move_key(self, namespace: str, key_id: str, new_id: str) -> None:
        """Rename atomically: 404 if the key is gone, 409 "Key '<new>' already exists" if taken."""
        self._keys.move(namespace, key_id, new_id)

    @_record_change
    def delete_key(self, namespace: str, key_id: str) -> None:
        self._keys.delete(namespace, key_id)

    @_operational_reader
    def count_operation(self, namespace: str, key_id: str) -> None:
        """A successful sign/decrypt/encrypt: bump the in-RAM counter (flushed at reboot/shutdown)."""
        self._keys.count_operation(namespace, key_id)

    # --- config --------------------------------------------------------------------------------
    @_operational
    def set_unlock_passphrase(self, new: str, current: str) -> None:
        """403 "unlock passphrase is incorrect." if `current` is wrong."""
        self._settings.set_unlock_passphrase(new, current, self._dk)

    @_operational
    def set_backup_passphrase(self, new: str, current: str) -> None:
        """`current` must match, or be "" when none is set; else 403 "backup passphrase is incorrect."."""
        self._settings.set_backup_passphrase(new, current)

    @_operational_reader
    def has_backup_passphrase(self) -> bool:
        return self._settings.has_backup_passphrase()

    @_operational_reader
    def get_unattended_boot(self) -> bool:
        return self._settings.unattended_boot()

    @_operational
    def set_unattended_boot(self, on: bool) -> None:
        assert self._dk is not None  # Operational always holds the domain key
        self._settings.set_unattended_boot(on, self._dk)

    @_reader
    def tls_private_key_pem(self) -> bytes:
        return self._settings.tls_key_pem

    @_reader
    def tls_certificate_chain_der(self) -> list[bytes]:
        """Certificate first, then the chain."""
        return list(self._settings.tls_chain)

    @_operational
    def set_tls_key_and_cert(self, private_key_pem: bytes, chain_der: list[bytes]) -> None:
        self._settings.set_tls_key_and_cert(private_key_pem, chain_der)

    @_operational
    def set_tls_certificate_chain(self, chain_der: list[bytes]) -> None:
        self._settings.set_tls_certificate_chain(chain_der)

    @_reader
    def get_network(self) -> dict[str, Any]:
        """As the API shows it: {"ipAddress","netmask","gateway"[,"ipv6"]}."""
        return self._settings.network()

    @_operational
    def set_network(self, config: dict[str, Any]) -> None:
        self._settings.set_network(config)

    @_reader
    def get_logging(self) -> dict[str, Any]:
        return self._settings.logging()

    @_operational
    def set_logging(self, config: dict[str, Any]) -> None:
        self._settings.set_logging(config)

    @_reader
    def now(self) -> datetime:
        """Device time = host UTC time + stored time offset."""
        return self._settings.now()

    @_synchronized
    def set_time(self, when: datetime) -> None:
        self._set_time(when)

    # --- system --------------------------------------------------------------------------------
    @_reader
    def system_info(self) -> dict[str, Any]:
        return {
            "softwareVersion": self._software_version,
            "softwareBuild": "hsmconsole-emulator",
            "firmwareVersion": "N/A",
            "hardwareVersion": "N/A",
            "deviceId": self._hw.device_id,
            "akPub": {},
            "pcr": {},
        }

    @_operational_reader
    def backup(self) -> bytes:
        """The backup file (§8, version 1). 412 "Please configure backup key before doing a backup."."""
        return hsm_backup.write_backup(self._kv, self._cfg, self._dks, self._settings, self._hw.device_id)

    @_synchronized
    def restore(self, data: bytes, backup_passphrase: str | None, system_time: datetime | None) -> None:
        """§9: full restore when Unprovisioned, partial when Operational; 400s with device messages."""
        self._require(DeviceState.UNPROVISIONED, DeviceState.OPERATIONAL)
        started = time.monotonic()
        operational = self._state is DeviceState.OPERATIONAL
        contents = hsm_backup.read_backup(data, backup_passphrase, self._cfg, operational=operational)
        store_keys = dict(self._sealed.keys) if operational else None
        replaced = hsm_backup.apply_backup(
            self._kv, self._cfg, self._dks, self._keys, contents,
            operational=operational, store_keys=store_keys,
        )  # fmt: skip
        if operational and not replaced and self._dk is not None:
            self._enter_operational(self._dk)  # same domain key: stay Operational (finishes a v0 migration)
        else:
            self._boot()
        if system_time is not None:
            self._set_time(system_time + timedelta(seconds=time.monotonic() - started))
        if contents.truncated:
            raise ApiError(400, backupfmt.TRUNCATED_MESSAGE)

    def start_update(self, image: bytes) -> str:
        """Check an update image (format, signature by the trusted update key, no major downgrade) and
        keep it pending; returns its release notes. Order and messages as on the device: 409 "Update
        already in progress.", the format's 400s, 400 "Signature check of update image failed.", 409
        "Software version downgrade not allowed."."""
        with self._lock:
            self._require(DeviceState.OPERATIONAL)
            if self._pending_update is not None:
                raise ApiError(409, "Update already in progress.")
        # Parsing and hashing a large image need no lock.
        update = sysupdate.parse_update(image)
        if not sysupdate.signature_valid(self._update_key, image, update):
            raise ApiError(400, "Signature check of update image failed.")
        with self._lock:
            self._require(DeviceState.OPERATIONAL)
            if self._pending_update is not None:
                raise ApiError(409, "Update already in progress.")
            if not sysupdate.is_upgrade(sysupdate.parse_version(self._software_version), update.version):
                raise ApiError(409, "Software version downgrade not allowed.")
            self._pending_update = update.version_text
        return update.release_notes

    @_operational
    def commit_update(self) -> None:
        """Install the pending image: reboot into it (Locked, or Operational with unattended boot), after
        which /system/info reports its version. The version is kept with the hardware identity."""
        version = self._pending_update
        if version is None:
            raise ApiError(412, "No update available. Please upload a system image to /system/update.")
        self._pending_update = None
        self._flush_operations()
        updated = replace(self._hw, software_version=version)
        try:
            save_hardware(self._state_dir, updated)
        except OSError:
            raise ApiError(500, WRITE_FAILED) from None
        self._hw = updated
        self._software_version = version
        self._boot()

    @_operational
    def cancel_update(self) -> None:
        if self._pending_update is None:
            raise ApiError(412, "No update available. Please upload a system image to /system/update.")
        self._pending_update = None
