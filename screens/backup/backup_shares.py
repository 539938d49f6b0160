"""Custodians enter their backup-passphrase shares one at a time; the combined secret is handed back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hsmconsole.custody.shares import SecretKind
from hsmconsole.errors import InputError
from hsmconsole.secrets import Secret
from screens.base import DeviceContext
from screens.quorum import QuorumScreen


class BackupSharesScreen(QuorumScreen):
    """Collects a quorum of BACKUP shares exactly as the unlock step does (each checked as typed,
    nothing sent anywhere), combines them against the set's commitment and dismisses True; the
    caller takes the passphrase with `take()` and owns its wiping. Cancelled: False, nothing held."""

    KIND: ClassVar[SecretKind] = SecretKind.BACKUP
    TITLE = TITLE_TEXT = "Backup passphrase shares"
    DONE_PROMPT: ClassVar[str] = "Quorum reached: press Enter to combine the shares, Esc to cancel."

    def __init__(self, ctx: DeviceContext, purpose: str) -> None:
        super().__init__(ctx)
        self.purpose = purpose
        self._secret: Secret | None = None

    def instructions(self) -> str:
        return f"The backup passphrase {self.purpose}. " + super().instructions()

    def finish_call(self) -> Callable[[], Any]:
        collector = self.collector
        return collector.combine  # verified against the commitment; the shares are wiped either way

    def finished(self, result: Any) -> None:
        self._secret = result
        self.dismiss(True)

    def take(self) -> Secret | None:
        """The combined passphrase, once: the screen keeps no reference to it afterwards."""
        secret, self._secret = self._secret, None
        return secret


def require_file(path: str) -> None:
    """Before custodians are called to the keyboard: the backup file must be there to open."""
    if not Path(path).is_file():
        raise InputError(f"No backup file at {path}", "Check the path, then run again.")


def ask_backup_shares(
    screen: Any, purpose: str, use: Callable[[Secret], None], cancelled: Callable[[], None]
) -> None:
    """Push the share screen over `screen`; `use` gets the combined passphrase (and must wipe it)."""
    shares = BackupSharesScreen(screen.ctx, purpose)

    def after(ok: bool | None) -> None:
        secret = shares.take()
        if ok and secret is not None:
            use(secret)
        else:
            if secret is not None:
                secret.wipe()
            cancelled()

    screen.app.push_screen(shares, after)
