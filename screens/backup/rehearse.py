"""Rehearse a disaster-recovery restore into a throwaway built-in emulator; production is untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hsmconsole.backup.rehearse import Rehearsal, rehearse
from hsmconsole.device.client import Credentials
from hsmconsole.errors import InputError
from screens.backup.form import BackupForm, Field
from screens.backup.rehearse_quorum import RehearseQuorumScreen


class RehearseScreen(BackupForm):
    TITLE = TITLE_TEXT = "Rehearse a restore"
    EXPLAIN: ClassVar[str] = (
        "Restores the backup into a throwaway emulator: full restore, unlock, inventory check. "
        "The passphrases are those valid when the backup was made."
    )
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("file", "Backup file", placeholder="backups/....nethsm-backup"),
        Field("backup", "Backup passphrase (hidden)", secret=True),
        Field("unlock", "Unlock passphrase (hidden; empty: custodians enter shares)", secret=True),
        Field("admin", "Admin passphrase, for the inventory check (hidden; optional)", secret=True),
    )

    def start(self) -> Callable[[], Any] | None:
        path = self.text("file")
        backup = self.secret("backup", "backup passphrase")
        unlock = self.secret("unlock", "unlock passphrase")
        admin = self.secret("admin", "admin passphrase")
        if not path or backup is None:
            for s in (backup, unlock, admin):
                if s is not None:
                    s.wipe()
            raise InputError("Give the file and the backup passphrase.")
        creds = Credentials("admin", admin) if admin is not None else None
        if unlock is None:
            # The custodians prove their shares: collected one at a time, as on the day.
            quorum = RehearseQuorumScreen(self.ctx, Path(path), backup, creds)

            def after(_ok: bool | None) -> None:
                for s in (backup, admin):
                    if s is not None:
                        s.wipe()
                self.say(self.describe(quorum.rehearsal) if quorum.rehearsal else "Rehearsal cancelled.")

            self.app.push_screen(quorum, after)
            return None

        def run() -> Rehearsal:
            try:
                return rehearse(path, backup, unlock, creds)
            finally:
                for s in (backup, unlock, admin):
                    if s is not None:
                        s.wipe()

        return run

    def describe(self, result: Any) -> str:
        r: Rehearsal = result
        lines = [f"{'ok ' if not res.startswith('FAILED') else '!! '}{name}: {res}" for name, res in r.steps]
        lines.append("Rehearsal PASSED." if r.ok else "Rehearsal FAILED: see the step marked !!.")
        return "\n".join(lines)
