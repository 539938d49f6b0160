"""Make a backup as a Backup-role user: streamed with a progress bar, checked, with its manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hsmconsole.backup.create import BackupResult, create_backup
from hsmconsole.device.client import Credentials
from hsmconsole.errors import InputError
from screens.backup.form import BackupForm, Field


class MakeBackupScreen(BackupForm):
    TITLE = TITLE_TEXT = "Make a backup"
    EXPLAIN: ClassVar[str] = (
        "A Backup-role user downloads it; it is written 0600, never over another file, with a "
        "manifest beside it. With the backup passphrase its contents are checked too."
    )
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("user", "Backup user", value="backup"),
        Field("passphrase", "Its passphrase (hidden)", secret=True),
        Field("dir", "Directory", value="backups"),
        Field("backup", "Backup passphrase, to check contents (hidden; optional)", secret=True),
    )
    PROGRESS: ClassVar[bool] = True

    def start(self) -> Callable[[], Any]:
        user, directory = self.text("user"), self.text("dir")
        if not user or not directory:
            raise InputError("Give the Backup user and the directory.")
        passphrase = self.ctx.vault.get(self.ctx.profile.name, user) if self.ctx.profile.pinned else None
        typed = self.secret("passphrase", f"passphrase of {user}")
        passphrase = typed or passphrase
        if passphrase is None:
            raise InputError(f"Type the passphrase of {user}.")
        backup = self.secret("backup", "backup passphrase")
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
