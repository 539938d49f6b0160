"""Set the backup passphrase from a quorum of backup shares (finishes a ceremony that stopped early)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hsmconsole.access.quorum import set_backup_passphrase_by_quorum
from hsmconsole.custody.shares import SecretKind
from hsmconsole.errors import StateError
from screens.quorum import QuorumScreen


class BackupPassphraseScreen(QuorumScreen):
    """Needs an open admin session; the combined passphrase exists only during the device call."""

    KIND: ClassVar[SecretKind] = SecretKind.BACKUP
    TITLE = TITLE_TEXT = "Set backup passphrase"
    DONE_PROMPT: ClassVar[str] = "Quorum reached: press Enter to set the backup passphrase, Esc to cancel."

    def instructions(self) -> str:
        # The dashboard offers this only where the journal does not say one is set already; the
        # device itself cannot be asked (access/quorum.py, backup_passphrase_record).
        return (
            super().instructions()
            + " For a device that has none yet (provisioning stopped before that step); a device "
            "that already has one refuses, and nothing changes."
        )

    def finish_call(self) -> Callable[[], Any]:
        collector, client, journal = self.collector, self.ctx.client, self.ctx.journal
        session = self.ctx.sessions.admin
        if session is None or not session.open:
            def refuse() -> None:
                collector.wipe()
                raise StateError("The admin session is closed.", "Open one (a) and try again.")

            return refuse
        return lambda: set_backup_passphrase_by_quorum(
            collector, client, session.credentials(), journal
        )

    def finished(self, result: Any) -> None:
        self.notify("The backup passphrase is set. The combined passphrase was wiped from memory.")
        self.dismiss(True)
