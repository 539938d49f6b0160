"""Make a backup as a Backup-role user: streamed with a progress bar, checked, with its manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

from hsmconsole.backup.create import BackupResult, create_backup
from hsmconsole.device.client import Credentials
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.secrets import Secret
from screens.backup.backup_shares import ask_backup_shares
from screens.backup.form import BackupForm, Field


class MakeBackupScreen(BackupForm):
    TITLE = TITLE_TEXT = "Make a backup"
    EXPLAIN: ClassVar[str] = (
        "A Backup-role user downloads it; it is written 0600, never over another file, with a "
        "manifest beside it. With the backup passphrase (typed, or Ctrl+B: custodians' shares) "
        "its contents are checked too."
    )
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("user", "Backup user", value="backup"),
        Field("passphrase", "Its passphrase (hidden)", secret=True),
        Field("dir", "Directory", value="backups"),
        Field("backup", "Backup passphrase, to check contents (hidden; optional)", secret=True),
    )
    PROGRESS: ClassVar[bool] = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "shares", "Check by shares", id="backup.make.shares"),
    ]
    MUTATIONS = frozenset({"run", "back", "shares"})

    def start(self) -> Callable[[], Any]:
        return self._prepare(self.secret("backup", "backup passphrase"))

    def action_shares(self) -> None:
        """Ctrl+B: the backup passphrase for the contents check from a quorum of backup shares."""
        if self.busy:
            return
        self.query_one("#f-backup", Input).value = ""  # the shares are used, not a typed one

        def use(secret: Secret) -> None:
            try:
                call = self._prepare(secret)
            except HsmConsoleError as exc:
                secret.wipe()
                self.show_error(exc)
                return
            self.say("Working...")
            self.run_core(self.TITLE_TEXT, call, self._done, mutation=True, on_error=self._failed)

        ask_backup_shares(self, "checks the new backup's contents", use,
                          lambda: self.say("No shares combined: no backup was made."))  # fmt: skip

    def _prepare(self, backup: Secret | None) -> Callable[[], Any]:
        """The download call; `backup` (owned from here on) is wiped after it, whatever happens."""
        try:
            user, directory = self.text("user"), self.text("dir")
            if not user or not directory:
                raise InputError("Give the Backup user and the directory.")
            vault = self.ctx.vault
            passphrase = vault.get(self.ctx.profile.name, user) if self.ctx.profile.pinned else None
            typed = self.secret("passphrase", f"passphrase of {user}")
            passphrase = typed or passphrase
            if passphrase is None:
                raise InputError(f"Type the passphrase of {user}.")
        except HsmConsoleError:
            if backup is not None:
                backup.wipe()
            raise
        session = self.ctx.sessions.admin
        admin = session.credentials() if session is not None and session.open else None
        client, journal, progress = self.ctx.client, self.ctx.journal, self.progress_from_worker()
        creds = Credentials(user, passphrase)

        def run() -> BackupResult:
            try:
                return create_backup(client, creds, Path(directory), backup_passphrase=backup,
                                     admin=admin, progress=progress, journal=journal)  # fmt: skip
            finally:
                creds.passphrase.wipe()
                if backup is not None:
                    backup.wipe()

        return run

    def describe(self, result: Any) -> str:
        r: BackupResult = result
        self.changed = True  # dismissed True: a backup was made (the factory reset screen asks)
        checked = "framing and contents" if r.checked == "contents" else "framing only"
        return f"Written: {r.path}\nManifest: {r.manifest_path.name}\nChecked: {checked}."
