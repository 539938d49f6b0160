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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hsmconsole.emulator.errors import ApiError

__all__ = ["ApiError", "DeviceState", "Hsm", "Role", "UserRecord"]


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
        """"" for root users, else the part before the first "~"."""
        return self.user_id.split("~", 1)[0] if "~" in self.user_id else ""


class Hsm:
    """One emulated NetHSM. Thread-safe: every public method takes the instance lock, because the
    ASGI app may call it from several worker threads (slow scrypt calls run off the event loop).

    Method bodies marked CONTRACT are implemented by the model; the signatures are what app.py uses.
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
        self-signed certificate (CN=keyfender). `device_id` is this device's id (v1 store layout).
        scrypt always uses the device's parameters (N=16384, r=8, p=16; ≈0.7 s here): the SDK's
        backup reader and the real backups depend on them, so there is no cheaper test mode."""
        raise NotImplementedError  # CONTRACT

    # --- state -------------------------------------------------------------------------------
    @property
    def state(self) -> DeviceState:
        raise NotImplementedError  # CONTRACT

    def provision(self, unlock_passphrase: str, admin_passphrase: str, system_time: datetime) -> None:
        """Unprovisioned → Operational: domain key, stores, user admin (realName "admin")."""
        raise NotImplementedError  # CONTRACT

    def unlock(self, passphrase: str) -> None:
        """Locked → Operational; wrong passphrase → ApiError(403, "not authenticated")."""
        raise NotImplementedError  # CONTRACT

    def lock(self) -> None:
        raise NotImplementedError  # CONTRACT

    def reboot(self) -> None:
        """Forget the domain key: Locked, or Operational with unattended boot."""
        raise NotImplementedError  # CONTRACT

    def shutdown(self) -> None:
        """Persist (operations counters) and behave as powered off until the next boot()."""
        raise NotImplementedError  # CONTRACT

    def factory_reset(self) -> None:
        """Erase everything; new TLS key; Unprovisioned."""
        raise NotImplementedError  # CONTRACT

    # --- authentication ------------------------------------------------------------------------
    def authenticate(self, user_id: str, passphrase: str) -> UserRecord | None:
        """The user if it exists and HMAC-SHA256(salt, passphrase) matches its digest, else None."""
        raise NotImplementedError  # CONTRACT

    # --- users ---------------------------------------------------------------------------------
    def list_users(self, namespace: str | None) -> list[str]:
        """All user ids (namespace None = root admin view), or only those of `namespace`; byte-sorted."""
        raise NotImplementedError  # CONTRACT

    def get_user(self, user_id: str) -> UserRecord | None:
        raise NotImplementedError  # CONTRACT

    def add_user(self, user_id: str, real_name: str, role: Role, passphrase: str) -> None:
        """409 "user already exists" if present."""
        raise NotImplementedError  # CONTRACT

    def delete_user(self, user_id: str) -> None:
        raise NotImplementedError  # CONTRACT

    def set_user_passphrase(self, user_id: str, passphrase: str) -> None:
        raise NotImplementedError  # CONTRACT

    def add_user_tag(self, user_id: str, tag: str) -> bool:
        """True if added, False if already present (→ 304)."""
        raise NotImplementedError  # CONTRACT

    def delete_user_tag(self, user_id: str, tag: str) -> None:
        """ApiError(404) (empty body) if the tag is absent."""
        raise NotImplementedError  # CONTRACT

    # --- namespaces ----------------------------------------------------------------------------
    def list_namespaces(self) -> list[str]:
        raise NotImplementedError  # CONTRACT

    def namespace_exists(self, namespace: str) -> bool:
        """Root ("") always exists."""
        raise NotImplementedError  # CONTRACT

    def add_namespace(self, namespace: str) -> None:
        """400 "Namespace <ns> already exists" if present."""
        raise NotImplementedError  # CONTRACT

    def delete_namespace(self, namespace: str) -> None:
        """Deletes the namespace and all its keys; its users remain."""
        raise NotImplementedError  # CONTRACT

    # --- keys (records as described in the module docstring) -----------------------------------
    def list_keys(self, namespace: str) -> list[str]:
        raise NotImplementedError  # CONTRACT

    def get_key(self, namespace: str, key_id: str) -> dict[str, Any] | None:
        """The stored record, with the in-RAM operations counter applied."""
        raise NotImplementedError  # CONTRACT

    def put_key(self, namespace: str, key_id: str, record: dict[str, Any], *, create: bool) -> None:
        """create=True: 400 "Key with id <id> already exists" if present. create=False: replace."""
        raise NotImplementedError  # CONTRACT

    def delete_key(self, namespace: str, key_id: str) -> None:
        raise NotImplementedError  # CONTRACT

    def count_operation(self, namespace: str, key_id: str) -> None:
        """A successful sign/decrypt/encrypt: bump the in-RAM counter (flushed at reboot/shutdown)."""
        raise NotImplementedError  # CONTRACT

    # --- config --------------------------------------------------------------------------------
    def set_unlock_passphrase(self, new: str, current: str) -> None:
        """403 "unlock passphrase is incorrect." if `current` is wrong."""
        raise NotImplementedError  # CONTRACT

    def set_backup_passphrase(self, new: str, current: str) -> None:
        """`current` must match, or be "" when none is set; else 403 "backup passphrase is incorrect."."""
        raise NotImplementedError  # CONTRACT

    def has_backup_passphrase(self) -> bool:
        raise NotImplementedError  # CONTRACT

    def get_unattended_boot(self) -> bool:
        raise NotImplementedError  # CONTRACT

    def set_unattended_boot(self, on: bool) -> None:
        raise NotImplementedError  # CONTRACT

    def tls_private_key_pem(self) -> bytes:
        raise NotImplementedError  # CONTRACT

    def tls_certificate_chain_der(self) -> list[bytes]:
        """Certificate first, then the chain."""
        raise NotImplementedError  # CONTRACT

    def set_tls_key_and_cert(self, private_key_pem: bytes, chain_der: list[bytes]) -> None:
        raise NotImplementedError  # CONTRACT

    def set_tls_certificate_chain(self, chain_der: list[bytes]) -> None:
        raise NotImplementedError  # CONTRACT

    def get_network(self) -> dict[str, Any]:
        """As the API shows it: {"ipAddress","netmask","gateway"[,"ipv6"]}."""
        raise NotImplementedError  # CONTRACT

    def set_network(self, config: dict[str, Any]) -> None:
        raise NotImplementedError  # CONTRACT

    def get_logging(self) -> dict[str, Any]:
        raise NotImplementedError  # CONTRACT

    def set_logging(self, config: dict[str, Any]) -> None:
        raise NotImplementedError  # CONTRACT

    def now(self) -> datetime:
        """Device time = host UTC time + stored time offset."""
        raise NotImplementedError  # CONTRACT

    def set_time(self, when: datetime) -> None:
        raise NotImplementedError  # CONTRACT

    # --- system --------------------------------------------------------------------------------
    def system_info(self) -> dict[str, Any]:
        raise NotImplementedError  # CONTRACT

    def backup(self) -> bytes:
        """The backup file (§8, version 1). 412 "Please configure backup key before doing a backup."."""
        raise NotImplementedError  # CONTRACT

    def restore(self, data: bytes, backup_passphrase: str | None, system_time: datetime | None) -> None:
        """§9: full restore when Unprovisioned, partial when Operational; 400s with device messages."""
        raise NotImplementedError  # CONTRACT

    def start_update(self, image: bytes) -> str:
        """Validate an update image; returns release notes. The emulator has no vendor key, so a
        well-formed image is refused as the device refuses an unsigned one (400)."""
        raise NotImplementedError  # CONTRACT

    def commit_update(self) -> None:
        raise NotImplementedError  # CONTRACT

    def cancel_update(self) -> None:
        raise NotImplementedError  # CONTRACT
