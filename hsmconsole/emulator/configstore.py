"""The device's config and domain-key stores (config_store.ml, domain_key_store.ml) and v0→v1 migration."""

from __future__ import annotations

import ipaddress
import json

from hsmconsole.emulator import devcrypto
from hsmconsole.emulator.records import dumps
from hsmconsole.emulator.store import KVStore

__all__ = [
    "GLOBAL_EARLY",
    "GLOBAL_LATE",
    "LOCAL",
    "ConfigError",
    "ConfigStore",
    "DomainKeyStore",
    "migrate_v0",
]

# Local configs live under /local/<device id>/config/ and are encrypted with the config device key
# (they are needed before unlock: TLS, network, unlock salt). Global late ones are shared by a
# cluster and encrypted with SHA-256(DK ‖ "config_store"). The version stays cleartext.
LOCAL = (
    "unlock-salt",
    "certificate",
    "private-key",
    "ip-config",
    "log-config",
    "time-offset",
    "unattended-boot",
)
GLOBAL_LATE = ("backup-salt", "backup-key", "cluster-ca")
GLOBAL_EARLY = ("version",)
_V0_CLEARTEXT_LEN = {"backup-salt": devcrypto.SALT_LEN, "backup-key": 32}
LOG_LEVELS = ("debug", "info", "warning", "error", "app")


class ConfigError(Exception):
    """A config value that cannot be read now: missing domain key, or undecryptable (corrupted) data."""


class ConfigStore:
    """Typed-by-name access to /config and /local/<id>/config, with the device's codecs and adata."""

    def __init__(self, kv: KVStore, device_id: str, config_device_key: bytes) -> None:
        self.kv = kv
        self.device_id = device_id
        self.config_device_key = config_device_key
        self.domain_config_key: bytes | None = None  # SHA-256(DK ‖ "config_store") while unlocked

    def path(self, name: str) -> str:
        if name in LOCAL:
            return f"/local/{self.device_id}/config/{name}"
        if name in GLOBAL_LATE or name in GLOBAL_EARLY:
            return f"/config/{name}"
        raise KeyError(name)

    def _key(self, name: str) -> bytes | None:
        if name in LOCAL:
            return self.config_device_key
        if name in GLOBAL_LATE:
            if self.domain_config_key is None:
                raise ConfigError(f"{name} cannot be used before unlock")
            return self.domain_config_key
        return None

    def get(self, name: str) -> bytes | None:
        raw = self.kv.get(self.path(name))
        if raw is None:
            return None
        key = self._key(name)
        if key is None:
            return raw
        try:
            return devcrypto.decrypt(key, self.path(name).encode(), raw)
        except devcrypto.DecryptError as exc:
            raise ConfigError(f"{name} does not decrypt") from exc

    def get_lenient(self, name: str) -> bytes | None:
        """None for missing and for unreadable values (the device logs and skips those)."""
        try:
            return self.get(name)
        except ConfigError:
            return None

    def set(self, name: str, value: bytes) -> None:
        key = self._key(name)
        data = value if key is None else devcrypto.encrypt(key, self.path(name).encode(), value)
        self.kv.set(self.path(name), data)

    def remove(self, name: str) -> None:
        self.kv.delete(self.path(name))

    def finish_v0_migration(self) -> None:
        """Encrypt v0's cleartext backup salt/key once the domain key is known (the device queues
        these writes until unlock). Cleartext is recognisable: 16/32 bytes, never AEAD-sized."""
        for name, length in _V0_CLEARTEXT_LEN.items():
            raw = self.kv.get(self.path(name))
            if raw is not None and len(raw) == length:
                self.set(name, raw)


class DomainKeyStore:
    """/local/<id>/domain-key/{attended,unattended}: sealed with the device key, which no backup holds.
    attended = the locked DK (AEAD under the unlock key); unattended = the DK itself."""

    def __init__(self, kv: KVStore, device_id: str, device_key: bytes) -> None:
        self.kv = kv
        self.device_id = device_id
        self.device_key = device_key

    def path(self, slot: str, device_id: str | None = None) -> str:
        return f"/local/{device_id or self.device_id}/domain-key/{slot}"

    def _adata(self, slot: str, device_id: str | None = None) -> bytes:
        return f"local/{device_id or self.device_id}/domain-key{slot}".encode()

    def get(self, slot: str) -> bytes | None:
        raw = self.kv.get(self.path(slot))
        if raw is None:
            return None
        try:
            return devcrypto.decrypt(self.device_key, self._adata(slot), raw)
        except devcrypto.DecryptError:
            return None

    def set(self, slot: str, value: bytes) -> None:
        self.kv.set(self.path(slot), devcrypto.encrypt(self.device_key, self._adata(slot), value))

    def remove(self, slot: str) -> None:
        self.kv.delete(self.path(slot))

    def adopt(self, from_path: str, adata: bytes, slot: str) -> None:
        """Move a slot written under another path (another device id, or the v0 layout) to ours.
        Only readable if it was sealed with this device's key; otherwise it is dropped."""
        raw = self.kv.get(from_path)
        if raw is None:
            return
        self.kv.delete(from_path)
        try:
            value = devcrypto.decrypt(self.device_key, adata, raw)
        except devcrypto.DecryptError:
            return
        self.set(slot, value)


def _legacy_ip_config(raw: bytes) -> bytes:
    """v0 ip-config: JSON already, or 12 bytes route ‖ ip ‖ netmask (config_store.ml migrate_ip_config)."""
    if len(raw) == 12:
        route = ipaddress.IPv4Address(raw[0:4])
        address = ipaddress.IPv4Address(raw[4:8])
        netmask = ipaddress.IPv4Address(raw[8:12])
        net = ipaddress.IPv4Network(f"{address}/{netmask}", strict=False)
        return dumps({"ipv4": {"cidr": f"{address}/{net.prefixlen}", "gateway": str(route)}})
    doc = json.loads(raw)
    if isinstance(doc, dict) and "ipAddress" in doc:
        net = ipaddress.IPv4Network(f"{doc['ipAddress']}/{doc['netmask']}", strict=False)
        gateway = doc.get("gateway")
        return dumps({"ipv4": {"cidr": f"{doc['ipAddress']}/{net.prefixlen}", "gateway": gateway}})
    return raw


def _legacy_log_config(raw: bytes) -> bytes:
    """v0 log-config: JSON already, or 4-byte IPv4 ‖ 2-byte BE port ‖ level text."""
    try:
        doc = json.loads(raw)
        if isinstance(doc, dict):
            return raw
    except ValueError:
        pass
    if len(raw) < 7:
        raise ValueError("legacy log config too short")
    level = raw[6:].decode("ascii")
    if level not in LOG_LEVELS:
        raise ValueError("invalid log level")
    address = ipaddress.IPv4Address(raw[0:4])
    return dumps({"ipAddress": str(address), "port": int.from_bytes(raw[4:6], "big"), "logLevel": level})


def migrate_v0(cfg: ConfigStore, dks: DomainKeyStore) -> None:
    """Move a restored v0 store to the v1 layout: cleartext /config/<local> → encrypted local config,
    /domain-key/<slot> → /local/<id>/domain-key/<slot>. Raises ValueError on undecodable legacy data."""
    kv = cfg.kv
    for name in LOCAL:
        raw = kv.get(f"/config/{name}")
        if raw is None:
            continue
        if name == "ip-config":
            raw = _legacy_ip_config(raw)
        elif name == "log-config":
            raw = _legacy_log_config(raw)
        cfg.set(name, raw)
        kv.delete(f"/config/{name}")
    for slot in ("attended", "unattended"):
        dks.adopt(f"/domain-key/{slot}", f"domain-key{slot}".encode(), slot)
    cfg.set("version", b"1")
