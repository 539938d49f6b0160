"""Rehearse a disaster-recovery restore into a throwaway built-in emulator; production is untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hsmconsole.backup.rehearse import Rehearsal, rehearse
from hsmconsole.device.client import Credentials
from hsmconsole.errors import InputError
from hsmconsole.secrets import Secret
from screens.backup.backup_shares import ask_backup_shares, require_file
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
        Field("backup", "Backup passphrase itself (hidden; empty: custodians enter shares)",
              secret=True),
        Field("unlock", "Unlock passphrase (hidden; empty: custodians enter shares)", secret=True),
        Field("admin", "Admin passphrase, for the inventory check (hidden; optional)", secret=True),
    )

    def start(self) -> Callable[[], Any] | None:
        path = self.text("file")
        backup = self.secret("backup", "backup passphrase")
        unlock = self.secret("unlock", "unlock passphrase")
        admin = self.secret("admin", "admin passphrase")
        if not path:
            _wipe(backup, unlock, admin)
            raise InputError("Give the backup file's path.")
        if backup is None:
            try:
                require_file(path)
            except InputError:
                _wipe(unlock, admin)
                raise

            # As on the day: the backup custodians prove their shares, one at a time.
            def cancelled() -> None:
                _wipe(unlock, admin)
                self.say("Rehearsal cancelled.")

            ask_backup_shares(
                self, "opens the backup inside the throwaway emulator",
                lambda secret: self._proceed(path, secret, unlock, admin), cancelled,
            )
            return None
        self._proceed(path, backup, unlock, admin)
        return None

    def _proceed(
        self, path: str, backup: Secret, unlock: Secret | None, admin: Secret | None
    ) -> None:
        """With the backup passphrase at hand: the unlock shares next, or the rehearsal at once
        (run here: after the backup shares, start() has long returned)."""
        creds = Credentials("admin", admin) if admin is not None else None
        if unlock is None:
            # The custodians prove their shares: collected one at a time, as on the day.
            quorum = RehearseQuorumScreen(self.ctx, Path(path), backup, creds)

            def after(_ok: bool | None) -> None:
                _wipe(backup, admin)
                self.say(self.describe(quorum.rehearsal) if quorum.rehearsal else "Rehearsal cancelled.")

            self.app.push_screen(quorum, after)
            return None

        def run() -> Rehearsal:
            try:
                return rehearse(path, backup, unlock, creds)
            finally:
                _wipe(backup, unlock, admin)

        self.say("Working...")
        self.run_core(self.TITLE_TEXT, run, self._done, mutation=True, on_error=self._failed)
        return None

    def describe(self, result: Any) -> str:
        r: Rehearsal = result
        lines = [f"{'ok ' if not res.startswith('FAILED') else '!! '}{name}: {res}" for name, res in r.steps]
        lines.append("Rehearsal PASSED." if r.ok else "Rehearsal FAILED: see the step marked !!.")
        return "\n".join(lines)


def _wipe(*secrets: Secret | None) -> None:
    for s in secrets:
        if s is not None:
            s.wipe()
