"""Disaster-recovery restore: plan by the device's state, restore, unlock by quorum, check inventory."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hsmconsole.access.quorum import unlock_by_quorum
from hsmconsole.backup.create import check_against_manifest
from hsmconsole.backup.inspect import BackupReport, inspect_backup
from hsmconsole.backup.inventory import Inventory, InventoryDiff, diff_inventories
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.device import backups as device_backups
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import CertificateMismatch
from hsmconsole.errors import (
    AuthError,
    ConnectionFailed,
    HsmConsoleError,
    InputError,
    IntegrityError,
    StateError,
)
from hsmconsole.journal.chain import Journal, Outcome, record
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret

_MAX_BACKUP = 1 << 30  # the restore upload is one request; a NetHSM's store is far smaller


class RestoreKind(enum.Enum):
    FULL = "full"  # onto an Unprovisioned device: everything, network and TLS included
    PARTIAL = "partial"  # onto an Operational device: users, keys, namespaces; extras are deleted


@dataclass(frozen=True)
class RestorePlan:
    """What a restore will do, decided before anything is sent."""

    kind: RestoreKind
    state: DeviceState
    backup: BackupReport
    manifest: dict[str, Any] | None
    changes: InventoryDiff | None  # partial: device now -> after the restore (root keys only)

    def summary(self) -> list[str]:
        b = self.backup
        lines = [
            f"Backup {Path(b.path).name}: format {b.version}, device {b.device_id or '?'}, "
            f"{len(b.inventory.user_ids)} users, {len(b.inventory.namespace_ids)} namespaces, "
            f"{len(b.inventory.key_ids)} keys.",
            _manifest_line(self.manifest),
        ]
        if self.kind is RestoreKind.FULL:
            lines += [
                "Full restore onto an Unprovisioned device: users, keys, namespaces, network, TLS "
                "certificate and unlock passphrase all come from the backup.",
                f"The device will then present the backup's TLS certificate {b.tls_fingerprint or '?'}.",
                "It ends Locked: unlock it with the unlock shares valid when the backup was made.",
            ]
        elif self.changes is not None:
            lines.append("Partial restore onto this Operational device. What changes:")
            for kind in ("users", "namespaces", "keys"):
                added, removed = self.changes.added.get(kind, ()), self.changes.removed.get(kind, ())
                if added:
                    lines.append(f"  {kind} brought back: {', '.join(added)}")
                if removed:
                    lines.append(f"  {kind} DELETED (not in the backup): {', '.join(removed)}")
            if self.changes.empty:
                lines.append("  the same users, namespaces and keys (their contents are replaced).")
            lines.append(
                "If the backup's domain key differs, the device locks: have the unlock shares ready."
            )
        return lines


def _manifest_line(manifest: dict[str, Any] | None) -> str:
    if manifest is None:
        return "Manifest: none beside the file (the file's own checks still apply)."
    made = manifest.get("created_utc") or "?"
    return f"Manifest: made {made}, checked {manifest.get('checked', '?')}; SHA-256 matches the file."


@dataclass(frozen=True)
class InventoryCheck:
    missing: dict[str, tuple[str, ...]]  # in the backup, not on the device
    extra: dict[str, tuple[str, ...]]  # on the device, not in the backup

    @property
    def ok(self) -> bool:
        return not any((*self.missing.values(), *self.extra.values()))

    def describe(self) -> str:
        if self.ok:
            return "every user, namespace and key of the backup is on the device, and nothing else"
        parts = [f"missing {k}: {', '.join(v)}" for k, v in self.missing.items() if v]
        parts += [f"unexpected {k}: {', '.join(v)}" for k, v in self.extra.items() if v]
        return "; ".join(parts)


def _root_only(inv: Inventory) -> Inventory:
    # An R-Administrator's key listing never shows namespaced keys (reference §10.5).
    return Inventory(inv.user_ids, inv.namespace_ids, tuple(k for k in inv.key_ids if "/" not in k))


def open_backup(path: Path | str, backup_passphrase: Secret) -> tuple[BackupReport, dict[str, Any] | None]:
    """Open the outer layer (refusing a damaged file or wrong passphrase) and check the manifest."""
    report = inspect_backup(path, backup_passphrase=backup_passphrase)
    manifest = check_against_manifest(path, report.sha256, report.size)
    return report, manifest


def plan_restore(
    client: DeviceClient,
    path: Path | str,
    backup_passphrase: Secret,
    admin: Credentials | None = None,
) -> RestorePlan:
    report, manifest = open_backup(path, backup_passphrase)
    state = client.state()
    if state is DeviceState.UNPROVISIONED:
        return RestorePlan(RestoreKind.FULL, state, report, manifest, None)
    if state is DeviceState.OPERATIONAL:
        if admin is None:
            raise InputError(
                "A restore onto an Operational device needs an Administrator.",
                "Open an admin session (quorum of admin shares, or the admin passphrase) and retry.",
            )
        listed = device_backups.listing(client, admin)
        now = Inventory(listed.users, listed.namespaces, listed.keys)
        return RestorePlan(
            RestoreKind.PARTIAL, state, report, manifest, diff_inventories(now, _root_only(report.inventory))
        )
    if state is DeviceState.LOCKED:
        raise StateError(
            "The device is Locked: a restore needs it Unprovisioned (full) or Operational (partial).",
            "Unlock it with a quorum for a partial restore, or factory-reset it for a full restore.",
        )
    raise StateError(f"The device is {state.value}: it cannot take a restore now.", "Check the device.")


def run_restore(
    client: DeviceClient,
    plan: RestorePlan,
    backup_passphrase: Secret,
    admin: Credentials | None = None,
    *,
    journal: Journal | None = None,
    when: datetime | None = None,
) -> DeviceClient:
    """Send the backup. Returns the client to use afterwards: after a full restore the device
    presents the backup's certificate, so the profile is re-pinned to the fingerprint read from the
    backup itself (not to whatever the network presents)."""
    path = Path(plan.backup.path)
    try:
        if path.stat().st_size > _MAX_BACKUP:
            raise InputError(f"{path.name} is too big to be a NetHSM backup.")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}.") from None
    if hashlib.sha256(data).hexdigest() != plan.backup.sha256:
        raise IntegrityError(f"{path.name} changed since it was checked.", "Check it again, then restore.")
    actor = admin.user_id if admin is not None and plan.kind is RestoreKind.PARTIAL else "restore"
    detail = f"{plan.kind.value} restore of {path.name}"[:200]
    try:
        device_backups.restore(
            client, admin if plan.kind is RestoreKind.PARTIAL else None, data, backup_passphrase, when
        )
    except ConnectionFailed as exc:
        _record(journal, client, "backup.restore", Outcome.FAILED, actor, f"{detail}: no answer")
        if isinstance(exc, CertificateMismatch):
            raise
        raise ConnectionFailed(
            f"Restore: the connection was lost before the device answered ({exc.title})",
            "The restore may or may not have been made: read the device's state. Locked (full) or "
            "still Operational (partial): it was restored; unlock with the backup's unlock shares "
            "and check the inventory. Unprovisioned: nothing was restored; restore again.",
        ) from None
    except HsmConsoleError as exc:
        _record(journal, client, "backup.restore", Outcome.FAILED, actor, f"{detail}: {exc.kind.value}")
        raise
    _record(journal, client, "backup.restore", Outcome.OK, actor, detail)
    if plan.kind is RestoreKind.FULL and plan.backup.tls_fingerprint:
        repinned = Profile(
            client.profile.name, client.profile.host, fingerprint=plan.backup.tls_fingerprint,
            users=client.profile.users,
        )  # fmt: skip
        return DeviceClient(repinned, client.timeouts)
    return client


def unlock_restored(
    client: DeviceClient, unlock: ShareCollector | Secret, journal: Journal | None = None
) -> None:
    """Unlock with the backup's unlock passphrase: from a quorum (journaled with share fingerprints)
    or typed/read from a file."""
    if client.state() is not DeviceState.LOCKED:
        return
    refused = InputError(
        "The device refused the unlock passphrase.",
        "After a restore it is the unlock passphrase valid when the backup was made: use that "
        "generation's shares. The device stays Locked; nothing else changed.",
    )
    if isinstance(unlock, ShareCollector):
        try:
            unlock_by_quorum(unlock, client, journal)
        except AuthError:
            raise refused from None
        return
    try:
        client.unlock(unlock)
    except HsmConsoleError as exc:
        _record(journal, client, "unlock", Outcome.FAILED, "restore", exc.kind.value)
        if isinstance(exc, AuthError):
            raise refused from None
        raise
    _record(journal, client, "unlock", Outcome.OK, "restore", "unlock after restore")


def check_inventory(
    client: DeviceClient, admin: Credentials, plan: RestorePlan, journal: Journal | None = None
) -> InventoryCheck:
    """List users, namespaces and root keys as an Administrator and compare with the backup's."""
    listed = device_backups.listing(client, admin)
    device = Inventory(listed.users, listed.namespaces, listed.keys)
    d = diff_inventories(_root_only(plan.backup.inventory), device)
    check = InventoryCheck(missing=d.removed, extra=d.added)
    outcome = Outcome.OK if check.ok else Outcome.FAILED
    n = plan.backup.inventory
    detail = f"{len(n.user_ids)} users, {len(n.namespace_ids)} namespaces, {len(n.key_ids)} keys expected"
    _record(journal, client, "backup.restore.check", outcome, admin.user_id, detail)
    return check


def _record(
    journal: Journal | None, client: DeviceClient, action: str, outcome: Outcome, actor: str, detail: str
) -> None:
    record(journal, action, outcome, actor=actor, device_id=client.profile.name, detail=detail)
