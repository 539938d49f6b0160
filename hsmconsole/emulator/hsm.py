"""The emulated device: state machine, users, namespaces, keys, config, backup and restore (hsm.ml).

CONTRACT between the model (this file) and the HTTP layer (app.py). The HTTP layer does routing,
the order of checks (state → method → authentication → authorization → content type → body
schema), rate limiting and JSON rendering; this model keeps the device's data in the device's own
store format (reference §7–§9) and raises ApiError for business errors (400/403/404/409/412 with
the device's messages). Identifiers reaching the model are already validated by the app.

Namespaces: "" is the root namespace. User ids are "id" or "ns~id". Key records are the JSON
objects the device stores under /key/<id> or /key/.<ns>/<id> (reference §8.1):
  {"mechanisms":[..],"priv":{"PEM":..}|{"raw":b64},"cert":null|[content_type,b64?],
   "operations":n,"restrictions":{"tags"?:[..]},"label"?:".."}
(keys.py interprets "priv"; the model stores the record encrypted with the key-store key.)

Store layout (v1): /config/version, /config/{backup-salt,backup-key,cluster-ca} (sealed with
SHA-256(DK‖"config_store")), /local/<devid>/config/* (sealed with the config device key),
/local/<devid>/domain-key/{attended,unattended} (sealed with the device key), /authentication/<id>,
/key/<id>, /key/.<ns>/<id>, /namespace/<ns>, the three .version entries and /.initialized.
"""

from __future__ import annotations

import enum
import functools
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from hsmconsole.emulator import backupfmt, devconfig, devcrypto, restore, sysupdate
from hsmconsole.emulator.configstore import ConfigError, ConfigStore, DomainKeyStore
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.records import RecordError, dumps, load_key_record, load_user_record
from hsmconsole.emulator.store import KVStore, load_hardware

__all__ = ["ApiError", "DeviceState", "Hsm", "Role", "UserRecord"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_UNAVAILABLE = "Service not available"
_STORES = (("/authentication/", "auth_store"), ("/key/", "key_store"), ("/namespace/", "namespace_store"))


class DeviceState(enum.Enum):
    UNPROVISIONED = "Unprovisioned"
    LOCKED = "Locked"
    OPERATIONAL = "Operational"
    FAILED = "Failed"


class Role(enum.Enum):
    ADMINISTRATOR = "Administrator"
    OPERATOR = "Operator"
    METRICS = "Metrics"
    BACKUP = "Backup"


@dataclass(frozen=True)
class UserRecord:
    user_id: str  # "id" or "ns~id"
    real_name: str
    role: Role
    tags: tuple[str, ...]

    @property
    def namespace(self) -> str:
        """ "" for root users, else the part before the first "~"."""
        return self.user_id.split("~", 1)[0] if "~" in self.user_id else ""


def _synchronized(fn: Callable[Concatenate[Hsm, _P], _R]) -> Callable[Concatenate[Hsm, _P], _R]:
    def wrapper(self: Hsm, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            return fn(self, *args, **kwargs)

    return cast("Callable[Concatenate[Hsm, _P], _R]", functools.wraps(fn)(wrapper))


def _corrupt(what: str) -> ApiError:
    # The device answers 500 for store inconsistencies; `what` names a path, never a value.
    return ApiError(500, f"Corrupted database: {what}")


def _key_path(namespace: str, key_id: str) -> str:
    return f"/key/{key_id}" if not namespace else f"/key/.{namespace}/{key_id}"


class Hsm:
    """One emulated NetHSM. Thread-safe: every public method takes the instance lock, because the
    ASGI app may call it from several worker threads (slow scrypt calls run off the event loop).
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        device_id: str = "0000000000",
        software_version: str = "5.0",
    ) -> None:
        """Open (or create) the store and boot: Unprovisioned without /config/version, else Locked,
        or Operational with unattended boot. A fresh device gets a new P-256 TLS key and a
        self-signed certificate (CN=keyfender). `device_id` is this device's id (v1 store layout);
        with a state directory the id stored there on first use wins, like a hardware id.
        scrypt always uses the device's parameters (N=16384, r=8, p=16; ≈0.7 s here): the SDK's
        backup reader and the real backups depend on them, so there is no cheaper test mode."""
        self._lock = threading.RLock()
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._hw = load_hardware(state_dir, device_id)
        self._kv = KVStore(state_dir)
        self._cfg = ConfigStore(
            self._kv, self._hw.device_id, devcrypto.config_device_key(self._hw.device_key)
        )
        self._dks = DomainKeyStore(self._kv, self._hw.device_id, self._hw.device_key)
        self._software_version = software_version
        self._state = DeviceState.UNPROVISIONED
        self._dk: bytes | None = None
        self._store_keys: dict[str, bytes] = {}
        self._ops: dict[tuple[str, str], int] = {}  # in-RAM operation counters (flushed at reboot)
        self._time_offset = 0
        self._tls_key_pem, self._tls_chain = devconfig.first_boot_tls()
        self._pending_update: str | None = None
        self._powered_off = False
        self._boot()

    # --- boot and keys -------------------------------------------------------------------------
    def _forget_keys(self) -> None:
        self._dk = None
        self._store_keys = {}
        self._cfg.domain_config_key = None

    def _boot(self) -> None:
        self._forget_keys()
        self._pending_update = None
        if self._kv.get("/config/version") is None:
            self._state = DeviceState.UNPROVISIONED
            self._tls_key_pem, self._tls_chain = devconfig.first_boot_tls()
            return
        self._load_local_config()
        self._state = DeviceState.LOCKED
        if self._cfg.get_lenient("unattended-boot") == b"1":
            dk = self._dks.get("unattended")
            if dk is not None:
                try:
                    self._enter_operational(dk)
                except ApiError:
                    self._forget_keys()  # the device logs "unattended boot failed" and stays Locked

    def _load_local_config(self) -> None:
        offset = self._cfg.get_lenient("time-offset")
        try:
            self._time_offset = int(offset) if offset is not None else 0
        except ValueError:
            self._time_offset = 0
        pem = self._cfg.get_lenient("private-key")
        cert = self._cfg.get_lenient("certificate")
        try:
            if pem is not None and cert is not None:
                self._tls_key_pem, self._tls_chain = pem, devconfig.decode_chain(cert)
                return
        except ValueError:
            pass
        # A partial (truncated) restore can leave no TLS material: keep serving the current one.
        self._cfg.set("private-key", self._tls_key_pem)
        self._cfg.set("certificate", devconfig.encode_chain(self._tls_chain))

    def _enter_operational(self, dk: bytes) -> None:
        keys = {name: devcrypto.store_key(dk, name) for _, name in _STORES}
        for prefix, name in _STORES:
            version_path = prefix + ".version"
            raw = self._kv.get(version_path)
            if raw is None:
                # The device initialises a missing store (e.g. namespaces in old backups) on the fly.
                self._kv.set(version_path, devcrypto.encrypt(keys[name], version_path.encode(), b"0"))
                continue
            try:
                devcrypto.decrypt(keys[name], version_path.encode(), raw)
            except devcrypto.DecryptError:
                raise _corrupt(version_path) from None
        self._dk = dk
        self._store_keys = keys
        self._cfg.domain_config_key = devcrypto.store_key(dk, "config_store")
        self._cfg.finish_v0_migration()
        self._state = DeviceState.OPERATIONAL

    def _require(self, *states: DeviceState) -> None:
        if self._powered_off or self._state not in states:
            raise ApiError(412, _UNAVAILABLE)

    def _unlock_salt(self) -> bytes:
        try:
            salt = self._cfg.get("unlock-salt")
        except ConfigError:
            salt = None
        if salt is None:
            raise _corrupt("unlock-salt")
        return salt

    def _open_domain_key(self, passphrase: str) -> bytes | None:
        locked = self._dks.get("attended")
        if locked is None:
            return None
        try:
            return devcrypto.decrypt(devcrypto.scrypt(passphrase, self._unlock_salt()), b"passphrase", locked)
        except devcrypto.DecryptError:
            return None

    # --- encrypted records ---------------------------------------------------------------------
    def _get_record(self, path: str, store: str) -> bytes | None:
        raw = self._kv.get(path)
        if raw is None:
            return None
        try:
            return devcrypto.decrypt(self._store_keys[store], path.encode(), raw)
        except devcrypto.DecryptError:
            raise _corrupt(path) from None

    def _put_record(self, path: str, store: str, value: bytes) -> None:
        self._kv.set(path, devcrypto.encrypt(self._store_keys[store], path.encode(), value))

    def _user(self, user_id: str) -> dict[str, Any] | None:
        plain = self._get_record(f"/authentication/{user_id}", "auth_store")
        if plain is None:
            return None
        try:
            return load_user_record(plain)
        except RecordError:
            raise _corrupt(f"/authentication/{user_id}") from None

    def _put_user(self, user_id: str, user: dict[str, Any]) -> None:
        record = {k: user[k] for k in ("name", "salt", "digest", "role", "tags")}
        self._put_record(f"/authentication/{user_id}", "auth_store", dumps(record))

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
            keys = {name: devcrypto.store_key(dk, name) for _, name in _STORES}
            for prefix, name in _STORES:
                path = prefix + ".version"
                self._kv.set(path, devcrypto.encrypt(keys[name], path.encode(), b"0"))
            self._enter_operational(dk)
            self._put_user("admin", self._new_user("admin", Role.ADMINISTRATOR, admin_passphrase))
            self._dks.set("attended", locked_dk)
            self._cfg.set("unlock-salt", unlock_salt)
            self._cfg.set("certificate", devconfig.encode_chain(self._tls_chain))
            self._cfg.set("private-key", self._tls_key_pem)
            self._cfg.set("ip-config", devconfig.DEFAULT_IP_CONFIG)
            self._set_time(system_time + timedelta(seconds=time.monotonic() - started))

    @_synchronized
    def unlock(self, passphrase: str) -> None:
        """Locked → Operational; wrong passphrase → ApiError(403, "not authenticated")."""
        self._require(DeviceState.LOCKED)
        dk = self._open_domain_key(passphrase)
        if dk is None:
            raise ApiError(403, "not authenticated")
        self._enter_operational(dk)

    @_synchronized
    def lock(self) -> None:
        self._require(DeviceState.OPERATIONAL)
        self._forget_keys()
        self._state = DeviceState.LOCKED

    def _flush_operations(self) -> None:
        if self._state is DeviceState.OPERATIONAL:
            with self._kv.batch():
                for (namespace, key_id), count in self._ops.items():
                    record = self._key_record(namespace, key_id)
                    if record is not None and record.get("operations") != count:
                        record["operations"] = count
                        self._put_record(_key_path(namespace, key_id), "key_store", dumps(record))
        self._ops.clear()

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
        self._ops.clear()
        self._time_offset = 0
        self._boot()

    # --- authentication ------------------------------------------------------------------------
    @_synchronized
    def authenticate(self, user_id: str, passphrase: str) -> UserRecord | None:
        """The user if it exists and HMAC-SHA256(salt, passphrase) matches its digest, else None."""
        if self._state is not DeviceState.OPERATIONAL:
            return None
        user = self._user(user_id)
        if user is None:
            return None
        if not hmac.compare_digest(devcrypto.passphrase_digest(user["salt"], passphrase), user["digest"]):
            return None
        return self._user_record(user_id, user)

    # --- users ---------------------------------------------------------------------------------
    @staticmethod
    def _new_user(real_name: str, role: Role, passphrase: str) -> dict[str, Any]:
        salt = os.urandom(devcrypto.SALT_LEN)
        return {
            "name": real_name,
            "salt": salt,
            "digest": devcrypto.passphrase_digest(salt, passphrase),
            "role": role.value,
            "tags": [],
        }

    @staticmethod
    def _user_record(user_id: str, user: dict[str, Any]) -> UserRecord:
        try:
            role = Role(user["role"])
        except ValueError:
            raise _corrupt(f"/authentication/{user_id}") from None
        return UserRecord(user_id, user["name"], role, tuple(sorted(user["tags"])))

    def _existing_user(self, user_id: str) -> dict[str, Any]:
        user = self._user(user_id)
        if user is None:
            raise ApiError(404)
        return user

    @_synchronized
    def list_users(self, namespace: str | None) -> list[str]:
        """All user ids (namespace None = root admin view), or only those of `namespace`; byte-sorted."""
        self._require(DeviceState.OPERATIONAL)
        ids = [p.removeprefix("/authentication/") for p in self._kv.paths("/authentication/")]
        ids = [i for i in ids if i != ".version" and "/" not in i]
        if namespace is not None:
            ids = [i for i in ids if (i.split("~", 1)[0] if "~" in i else "") == namespace]
        return sorted(ids, key=lambda i: i.encode())

    @_synchronized
    def get_user(self, user_id: str) -> UserRecord | None:
        self._require(DeviceState.OPERATIONAL)
        user = self._user(user_id)
        return None if user is None else self._user_record(user_id, user)

    @_synchronized
    def add_user(self, user_id: str, real_name: str, role: Role, passphrase: str) -> None:
        """409 "user already exists" if present."""
        self._require(DeviceState.OPERATIONAL)
        if self._kv.get(f"/authentication/{user_id}") is not None:
            raise ApiError(409, "user already exists")
        self._put_user(user_id, self._new_user(real_name, role, passphrase))

    @_synchronized
    def delete_user(self, user_id: str) -> None:
        self._require(DeviceState.OPERATIONAL)
        self._existing_user(user_id)
        self._kv.delete(f"/authentication/{user_id}")

    @_synchronized
    def set_user_passphrase(self, user_id: str, passphrase: str) -> None:
        self._require(DeviceState.OPERATIONAL)
        user = self._existing_user(user_id)
        user["salt"] = os.urandom(devcrypto.SALT_LEN)
        user["digest"] = devcrypto.passphrase_digest(user["salt"], passphrase)
        self._put_user(user_id, user)

    def _operator_tags(
        self, user_id: str, *, missing_message: str | None
    ) -> tuple[dict[str, Any], list[str]]:
        user = self._user(user_id)
        if user is None:
            raise ApiError(404, missing_message)
        if user["role"] != Role.OPERATOR.value:
            raise ApiError(400, "tag operations only exist on operator users")
        return user, list(user["tags"])

    @_synchronized
    def add_user_tag(self, user_id: str, tag: str) -> bool:
        """True if added, False if already present (→ 304)."""
        self._require(DeviceState.OPERATIONAL)
        user, tags = self._operator_tags(user_id, missing_message="")
        if tag in tags:
            return False
        user["tags"] = sorted([*tags, tag], key=str.encode)
        self._put_user(user_id, user)
        return True

    @_synchronized
    def delete_user_tag(self, user_id: str, tag: str) -> None:
        """ApiError(404) (empty body) if the tag is absent."""
        self._require(DeviceState.OPERATIONAL)
        user, tags = self._operator_tags(user_id, missing_message=None)
        if tag not in tags:
            raise ApiError(404)
        user["tags"] = [t for t in tags if t != tag]
        self._put_user(user_id, user)

    # --- namespaces ----------------------------------------------------------------------------
    @_synchronized
    def list_namespaces(self) -> list[str]:
        self._require(DeviceState.OPERATIONAL)
        names = [p.removeprefix("/namespace/") for p in self._kv.paths("/namespace/")]
        return sorted((n for n in names if n != ".version" and "/" not in n), key=str.encode)

    @_synchronized
    def namespace_exists(self, namespace: str) -> bool:
        """Root ("") always exists."""
        if not namespace:
            return True
        self._require(DeviceState.OPERATIONAL)
        return self._get_record(f"/namespace/{namespace}", "namespace_store") == dumps(namespace)

    @_synchronized
    def add_namespace(self, namespace: str) -> None:
        """400 "Namespace <ns> already exists" if present."""
        self._require(DeviceState.OPERATIONAL)
        if not namespace:
            raise ApiError(400, "Root namespace always exists")
        if self._kv.get(f"/namespace/{namespace}") is not None:
            raise ApiError(400, f"Namespace {namespace} already exists")
        self._put_record(f"/namespace/{namespace}", "namespace_store", dumps(namespace))

    @_synchronized
    def delete_namespace(self, namespace: str) -> None:
        """Deletes the namespace and all its keys; its users remain."""
        self._require(DeviceState.OPERATIONAL)
        if not namespace:
            raise ApiError(400, "Cannot delete root namespace")
        if self._kv.get(f"/namespace/{namespace}") is None:
            raise ApiError(404)
        with self._kv.batch():
            self._kv.delete_prefix(f"/key/.{namespace}/")
            self._kv.delete(f"/namespace/{namespace}")
        for ref in [r for r in self._ops if r[0] == namespace]:
            del self._ops[ref]

    # --- keys (records as described in the module docstring) -----------------------------------
    def _key_record(self, namespace: str, key_id: str) -> dict[str, Any] | None:
        path = _key_path(namespace, key_id)
        plain = self._get_record(path, "key_store")
        if plain is None:
            return None
        try:
            return load_key_record(plain)
        except RecordError:
            raise _corrupt(path) from None

    @_synchronized
    def list_keys(self, namespace: str) -> list[str]:
        self._require(DeviceState.OPERATIONAL)
        prefix = "/key/" if not namespace else f"/key/.{namespace}/"
        ids = [p.removeprefix(prefix) for p in self._kv.paths(prefix)]
        # Root listing skips ".version" and the ".<ns>/" directories, as the device's "0"-started range.
        return sorted((i for i in ids if "/" not in i and not i.startswith(".")), key=str.encode)

    @_synchronized
    def get_key(self, namespace: str, key_id: str) -> dict[str, Any] | None:
        """The stored record, with the in-RAM operations counter applied."""
        self._require(DeviceState.OPERATIONAL)
        record = self._key_record(namespace, key_id)
        if record is not None and (namespace, key_id) in self._ops:
            record["operations"] = self._ops[(namespace, key_id)]
        return record

    @_synchronized
    def put_key(self, namespace: str, key_id: str, record: dict[str, Any], *, create: bool) -> None:
        """create=True: 400 "Key with id <id> already exists" if present. create=False: replace."""
        self._require(DeviceState.OPERATIONAL)
        path = _key_path(namespace, key_id)
        if create and self._kv.get(path) is not None:
            raise ApiError(400, f"Key with id {key_id} already exists")
        self._put_record(path, "key_store", dumps(record))
        self._ops.pop((namespace, key_id), None)  # the record now carries the count

    @_synchronized
    def delete_key(self, namespace: str, key_id: str) -> None:
        self._require(DeviceState.OPERATIONAL)
        path = _key_path(namespace, key_id)
        if self._kv.get(path) is None:
            raise ApiError(404)
        self._kv.delete(path)
        self._ops.pop((namespace, key_id), None)

    @_synchronized
    def count_operation(self, namespace: str, key_id: str) -> None:
        """A successful sign/decrypt/encrypt: bump the in-RAM counter (flushed at reboot/shutdown)."""
        self._require(DeviceState.OPERATIONAL)
        ref = (namespace, key_id)
        if ref not in self._ops:
            record = self._key_record(namespace, key_id)
            if record is None:
                raise ApiError(404)
            stored = record.get("operations", 0)
            self._ops[ref] = stored if isinstance(stored, int) else 0
        self._ops[ref] += 1

    # --- config --------------------------------------------------------------------------------
    @_synchronized
    def set_unlock_passphrase(self, new: str, current: str) -> None:
        """403 "unlock passphrase is incorrect." if `current` is wrong."""
        self._require(DeviceState.OPERATIONAL)
        if self._dk is None or self._open_domain_key(current) != self._dk:
            raise ApiError(403, "unlock passphrase is incorrect.")
        salt = os.urandom(devcrypto.SALT_LEN)
        locked = devcrypto.encrypt(devcrypto.scrypt(new, salt), b"passphrase", self._dk)
        with self._kv.batch():
            self._dks.set("attended", locked)
            self._cfg.set("unlock-salt", salt)

    def _config(self, name: str) -> bytes | None:
        try:
            return self._cfg.get(name)
        except ConfigError:
            raise _corrupt(self._cfg.path(name)) from None

    @_synchronized
    def set_backup_passphrase(self, new: str, current: str) -> None:
        """`current` must match, or be "" when none is set; else 403 "backup passphrase is incorrect."."""
        self._require(DeviceState.OPERATIONAL)
        stored_key, stored_salt = self._config("backup-key"), self._config("backup-salt")
        if stored_key is None or stored_salt is None:
            ok = current == ""
        else:
            ok = hmac.compare_digest(devcrypto.scrypt(current, stored_salt), stored_key)
        if not ok:
            raise ApiError(403, "backup passphrase is incorrect.")
        salt = os.urandom(devcrypto.SALT_LEN)
        with self._kv.batch():
            self._cfg.set("backup-salt", salt)
            self._cfg.set("backup-key", devcrypto.scrypt(new, salt))

    @_synchronized
    def has_backup_passphrase(self) -> bool:
        self._require(DeviceState.OPERATIONAL)
        return self._config("backup-key") is not None

    @_synchronized
    def get_unattended_boot(self) -> bool:
        self._require(DeviceState.OPERATIONAL)
        return self._cfg.get_lenient("unattended-boot") == b"1"

    @_synchronized
    def set_unattended_boot(self, on: bool) -> None:
        self._require(DeviceState.OPERATIONAL)
        assert self._dk is not None  # Operational always holds the domain key
        with self._kv.batch():
            self._cfg.set("unattended-boot", b"1" if on else b"0")
            if on:
                self._dks.set("unattended", self._dk)
            else:
                self._dks.remove("unattended")

    @_synchronized
    def tls_private_key_pem(self) -> bytes:
        return self._tls_key_pem

    @_synchronized
    def tls_certificate_chain_der(self) -> list[bytes]:
        """Certificate first, then the chain."""
        return list(self._tls_chain)

    @_synchronized
    def set_tls_key_and_cert(self, private_key_pem: bytes, chain_der: list[bytes]) -> None:
        self._require(DeviceState.OPERATIONAL)
        with self._kv.batch():
            self._cfg.set("private-key", private_key_pem)
            self._cfg.set("certificate", devconfig.encode_chain(chain_der))
        self._tls_key_pem, self._tls_chain = private_key_pem, list(chain_der)

    @_synchronized
    def set_tls_certificate_chain(self, chain_der: list[bytes]) -> None:
        self._require(DeviceState.OPERATIONAL)
        self._cfg.set("certificate", devconfig.encode_chain(chain_der))
        self._tls_chain = list(chain_der)

    @_synchronized
    def get_network(self) -> dict[str, Any]:
        """As the API shows it: {"ipAddress","netmask","gateway"[,"ipv6"]}."""
        stored = self._cfg.get_lenient("ip-config") or devconfig.DEFAULT_IP_CONFIG
        try:
            return devconfig.network_to_api(stored)
        except (RecordError, ValueError, KeyError, TypeError):
            return devconfig.network_to_api(devconfig.DEFAULT_IP_CONFIG)

    @_synchronized
    def set_network(self, config: dict[str, Any]) -> None:
        self._require(DeviceState.OPERATIONAL)
        self._cfg.set("ip-config", devconfig.network_from_api(config))

    @_synchronized
    def get_logging(self) -> dict[str, Any]:
        stored = self._cfg.get_lenient("log-config") or devconfig.DEFAULT_LOG_CONFIG
        try:
            return devconfig.log_to_api(stored)
        except (RecordError, ValueError, KeyError, TypeError):
            return devconfig.log_to_api(devconfig.DEFAULT_LOG_CONFIG)

    @_synchronized
    def set_logging(self, config: dict[str, Any]) -> None:
        self._require(DeviceState.OPERATIONAL)
        self._cfg.set("log-config", devconfig.log_from_api(config))

    @_synchronized
    def now(self) -> datetime:
        """Device time = host UTC time + stored time offset."""
        return datetime.now(UTC) + timedelta(seconds=self._time_offset)

    def _set_time(self, when: datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        self._time_offset = round((when - datetime.now(UTC)).total_seconds())
        if self._state is not DeviceState.UNPROVISIONED:
            self._cfg.set("time-offset", str(self._time_offset).encode("ascii"))

    @_synchronized
    def set_time(self, when: datetime) -> None:
        self._set_time(when)

    # --- system --------------------------------------------------------------------------------
    @_synchronized
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

    @_synchronized
    def backup(self) -> bytes:
        """The backup file (§8, version 1). 412 "Please configure backup key before doing a backup."."""
        self._require(DeviceState.OPERATIONAL)
        backup_key, salt = self._config("backup-key"), self._config("backup-salt")
        if backup_key is None or salt is None:
            raise ApiError(412, "Please configure backup key before doing a backup.")
        locked_dk = self._dks.get("attended")
        if locked_dk is None:
            raise _corrupt(self._dks.path("attended"))
        return backupfmt.write_backup(
            backup_key=backup_key,
            salt=salt,
            locked_domain_key=locked_dk,
            device_id=self._hw.device_id,
            config_store_key=self._cfg.config_device_key,
            records=self._kv.snapshot().items(),
        )

    @_synchronized
    def restore(self, data: bytes, backup_passphrase: str | None, system_time: datetime | None) -> None:
        """§9: full restore when Unprovisioned, partial when Operational; 400s with device messages."""
        self._require(DeviceState.UNPROVISIONED, DeviceState.OPERATIONAL)
        started = time.monotonic()
        operational = self._state is DeviceState.OPERATIONAL

        def key_for_salt(salt: bytes) -> bytes:
            if backup_passphrase is not None:
                return devcrypto.scrypt(backup_passphrase, salt)
            if operational and self._cfg.get_lenient("backup-salt") == salt:
                stored = self._cfg.get_lenient("backup-key")
                if stored is not None:
                    return stored
            raise backupfmt.BackupError("No backupPassphrase provided")

        try:
            contents = backupfmt.read_backup(bytes(data), key_for_salt)
        except backupfmt.BackupError as exc:
            raise ApiError(400, exc.message) from None
        before = self._kv.snapshot()
        try:
            with self._kv.batch():
                replaced = self._apply_restore(contents, operational)
        except backupfmt.BackupError as exc:
            self._kv.replace_all(before)
            raise ApiError(400, exc.message) from None
        if operational and not replaced and self._dk is not None:
            self._enter_operational(self._dk)  # same domain key: stay Operational (finishes a v0 migration)
        else:
            self._boot()
        if system_time is not None:
            self._set_time(system_time + timedelta(seconds=time.monotonic() - started))
        if contents.truncated:
            raise ApiError(400, backupfmt.TRUNCATED_MESSAGE)

    def _apply_restore(self, contents: backupfmt.BackupContents, operational: bool) -> bool:
        """Write the backup into the store; True if the locked domain key changed."""
        if operational:
            restore.apply_partial(self._kv, self._cfg, contents)
        else:
            restore.apply_full(self._kv, self._cfg, self._dks, contents)
        self._ops.clear()  # key records were replaced; their stored counts are the truth now
        replaced = restore.replace_locked_domain_key(self._dks, contents.locked_domain_key)
        if operational and replaced:
            # A new domain key: unattended boot would open the old one, so the device turns it off.
            self._cfg.set("unattended-boot", b"0")
            self._dks.remove("unattended")
        return replaced

    def start_update(self, image: bytes) -> str:
        """Validate an update image; returns release notes. The emulator has no vendor key, so a
        well-formed image is refused as the device refuses an unsigned one (400)."""
        with self._lock:
            self._require(DeviceState.OPERATIONAL)
            if self._pending_update is not None:
                raise ApiError(409, "Update already in progress.")
        sysupdate.parse_update(image)  # raises ApiError(400) for malformed images
        raise ApiError(400, "Signature check of update image failed.")

    @_synchronized
    def commit_update(self) -> None:
        self._require(DeviceState.OPERATIONAL)
        if self._pending_update is None:
            raise ApiError(412, "No update available. Please upload a system image to /system/update.")
        self._pending_update = None
        self._flush_operations()
        self._boot()

    @_synchronized
    def cancel_update(self) -> None:
        self._require(DeviceState.OPERATIONAL)
        if self._pending_update is None:
            raise ApiError(412, "No update available. Please upload a system image to /system/update.")
        self._pending_update = None
