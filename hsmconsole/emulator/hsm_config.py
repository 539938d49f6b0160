"""Device settings: unlock and backup passphrases, unattended boot, TLS material, network, logging, time."""

from __future__ import annotations

import hmac
import math
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from hsmconsole.emulator import devconfig, devcrypto
from hsmconsole.emulator.configstore import ConfigError, ConfigStore, DomainKeyStore
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm_types import corrupt
from hsmconsole.emulator.records import RecordError
from hsmconsole.emulator.store import KVStore

__all__ = ["Settings"]


class Settings:
    """The config store's entries and what the device caches of them in RAM (TLS material, time
    offset). No state checks: the Hsm checks the state and holds the lock."""

    def __init__(self, kv: KVStore, cfg: ConfigStore, dks: DomainKeyStore) -> None:
        self._kv = kv
        self._cfg = cfg
        self._dks = dks
        self.time_offset = 0
        self.tls_key_pem, self.tls_chain = devconfig.first_boot_tls()

    def new_tls(self) -> None:
        """A fresh P-256 key and self-signed certificate, as an unprovisioned device makes at boot."""
        self.tls_key_pem, self.tls_chain = devconfig.first_boot_tls()

    def load_local(self) -> None:
        """Read the time offset and TLS material at boot."""
        offset = self._cfg.get_lenient("time-offset")
        try:
            self.time_offset = int(offset) if offset is not None else 0
        except ValueError:
            self.time_offset = 0
        pem = self._cfg.get_lenient("private-key")
        cert = self._cfg.get_lenient("certificate")
        try:
            if pem is not None and cert is not None:
                self.tls_key_pem, self.tls_chain = pem, devconfig.decode_chain(cert)
                return
        except ValueError:
            pass
        # A partial (truncated) restore can leave no TLS material: keep serving the current one.
        self._cfg.set("private-key", self.tls_key_pem)
        self._cfg.set("certificate", devconfig.encode_chain(self.tls_chain))

    def store_initial(self) -> None:
        """Provisioning: persist the TLS material served so far and the default network."""
        self._cfg.set("certificate", devconfig.encode_chain(self.tls_chain))
        self._cfg.set("private-key", self.tls_key_pem)
        self._cfg.set("ip-config", devconfig.DEFAULT_IP_CONFIG)

    def config(self, name: str) -> bytes | None:
        """A config entry; 500 "Corrupted database" if it does not open."""
        try:
            return self._cfg.get(name)
        except ConfigError:
            raise corrupt(self._cfg.path(name)) from None

    # --- domain key and passphrases ------------------------------------------------------------
    def _unlock_salt(self) -> bytes:
        try:
            salt = self._cfg.get("unlock-salt")
        except ConfigError:
            salt = None
        if salt is None:
            raise corrupt("unlock-salt")
        return salt

    def open_domain_key(self, passphrase: str) -> bytes | None:
        locked = self._dks.get("attended")
        if locked is None:
            return None
        try:
            return devcrypto.decrypt(devcrypto.scrypt(passphrase, self._unlock_salt()), b"passphrase", locked)
        except devcrypto.DecryptError:
            return None

    def set_unlock_passphrase(self, new: str, current: str, dk: bytes | None) -> None:
        if dk is None or self.open_domain_key(current) != dk:
            raise ApiError(403, "unlock passphrase is incorrect.")
        salt = os.urandom(devcrypto.SALT_LEN)
        locked = devcrypto.encrypt(devcrypto.scrypt(new, salt), b"passphrase", dk)
        with self._kv.batch():
            self._dks.set("attended", locked)
            self._cfg.set("unlock-salt", salt)

    def set_backup_passphrase(self, new: str, current: str) -> None:
        stored_key, stored_salt = self.config("backup-key"), self.config("backup-salt")
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

    def has_backup_passphrase(self) -> bool:
        return self.config("backup-key") is not None

    def unattended_boot(self) -> bool:
        return self._cfg.get_lenient("unattended-boot") == b"1"

    def set_unattended_boot(self, on: bool, dk: bytes) -> None:
        with self._kv.batch():
            self._cfg.set("unattended-boot", b"1" if on else b"0")
            if on:
                self._dks.set("unattended", dk)
            else:
                self._dks.remove("unattended")

    # --- TLS, network, logging -----------------------------------------------------------------
    def set_tls_key_and_cert(self, private_key_pem: bytes, chain_der: list[bytes]) -> None:
        with self._kv.batch():
            self._cfg.set("private-key", private_key_pem)
            self._cfg.set("certificate", devconfig.encode_chain(chain_der))
        self.tls_key_pem, self.tls_chain = private_key_pem, list(chain_der)

    def set_tls_certificate_chain(self, chain_der: list[bytes]) -> None:
        self._cfg.set("certificate", devconfig.encode_chain(chain_der))
        self.tls_chain = list(chain_der)

    def cluster_ca(self) -> bytes | None:
        """The cluster CA certificate (PEM) as PUT, kept with the backup globals; None if unset."""
        return self.config("cluster-ca")

    def set_cluster_ca(self, pem: bytes) -> None:
        self._cfg.set("cluster-ca", pem)

    def network(self) -> dict[str, Any]:
        stored = self._cfg.get_lenient("ip-config") or devconfig.DEFAULT_IP_CONFIG
        try:
            return devconfig.network_to_api(stored)
        except (RecordError, ValueError, KeyError, TypeError):
            return devconfig.network_to_api(devconfig.DEFAULT_IP_CONFIG)

    def set_network(self, config: dict[str, Any]) -> None:
        self._cfg.set("ip-config", devconfig.network_from_api(config))

    def logging(self) -> dict[str, Any]:
        stored = self._cfg.get_lenient("log-config") or devconfig.DEFAULT_LOG_CONFIG
        try:
            return devconfig.log_to_api(stored)
        except (RecordError, ValueError, KeyError, TypeError):
            return devconfig.log_to_api(devconfig.DEFAULT_LOG_CONFIG)

    def set_logging(self, config: dict[str, Any]) -> None:
        self._cfg.set("log-config", devconfig.log_from_api(config))

    # --- time ----------------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.time_offset)

    def set_time(self, when: datetime, *, persist: bool) -> None:
        """Keep the offset from host time; `persist` it unless the device is unprovisioned."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        # Whole seconds, rounded up: a clock set to T never reads back as before T (round() could
        # give T - 0.5 s, which a read at once shows as the second before, e.g. the year before).
        self.time_offset = math.ceil((when - datetime.now(UTC)).total_seconds())
        if persist:
            self._cfg.set("time-offset", str(self.time_offset).encode("ascii"))
