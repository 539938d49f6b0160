"""Inspect a backup file offline: format, device id, users, namespaces and keys (no key material)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hsmconsole.backup.inspect import BackupReport, inspect_backup
from hsmconsole.errors import InputError
from screens.backup.form import BackupForm, Field


def report_lines(report: BackupReport) -> list[str]:
    lines = [
        f"{Path(report.path).name}: format {report.version}, {report.size} bytes",
        f"SHA-256 {report.sha256}",
    ]
    if not report.opened:
        return [*lines, "Give the backup passphrase to see what it holds."]
    inv = report.inventory
    lines.append(f"Device id {report.device_id or '(not in format 0)'}, {report.records} records")
    if not report.detailed:
        lines.append(f"Users: {', '.join(inv.user_ids) or '-'}")
        lines.append(f"Namespaces: {', '.join(inv.namespace_ids) or '-'}")
        lines.append(f"Keys ({len(inv.key_ids)}): {', '.join(inv.key_ids) or '-'}")
        return [*lines, "Give the unlock passphrase too for roles, key types and tags."]
    lines.append(f"Users ({len(inv.users)}):")
    lines += [f"  {u.user_id:<24} {u.role:<14} {' '.join(u.tags)}" for u in inv.users]
    lines.append(f"Namespaces: {', '.join(inv.namespace_ids) or '-'}")
    lines.append(f"Keys ({len(inv.keys)}):")
    lines += [
        f"  {k.full_id:<24} {k.key_type:<11} {','.join(k.mechanisms)[:26]}"
        f"{' cert' if k.certificate else ''}"
        for k in inv.keys
    ]
    return lines


class InspectBackupScreen(BackupForm):
    TITLE = TITLE_TEXT = "Inspect a backup"
    EXPLAIN: ClassVar[str] = (
        "Offline: no device needed. The backup passphrase opens the outer layer (ids); the unlock "
        "passphrase valid at backup time opens the details. Private keys are never shown."
    )
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("file", "Backup file", placeholder="backups/....nethsm-backup"),
        Field("backup", "Backup passphrase (hidden; empty: framing only)", secret=True),
        Field("unlock", "Unlock passphrase (hidden; empty: ids only)", secret=True),
    )

    def start(self) -> Callable[[], Any]:
        path = self.text("file")
        if not path:
            raise InputError("Give the backup file's path.")
        backup = self.secret("backup", "backup passphrase")
        unlock = self.secret("unlock", "unlock passphrase")

        def run() -> BackupReport:
            try:
                return inspect_backup(path, backup_passphrase=backup, unlock_passphrase=unlock)
            finally:
                for s in (backup, unlock):
                    if s is not None:
                        s.wipe()

        return run

    def describe(self, result: Any) -> str:
        return "\n".join(report_lines(result))
