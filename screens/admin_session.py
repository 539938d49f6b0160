"""Quorum admin session: the admin passphrase rebuilt from admin shares, held until idle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from hsmconsole.access.session import AdminSession, open_admin_session, start_session
from hsmconsole.custody.shares import SecretKind
from screens.dialogs import PassphraseAnswer, PassphrasePrompt
from screens.quorum import QuorumScreen


class AdminSessionScreen(QuorumScreen):
    """Opens an admin session from a quorum of admin shares (or, with p, a typed passphrase for a
    device whose admin passphrase is not split). Dismisses True once the session is open."""

    KIND: ClassVar[SecretKind] = SecretKind.ADMIN
    TITLE = TITLE_TEXT = "Quorum admin session"
    DONE_PROMPT: ClassVar[str] = "Quorum reached: press Enter to open the session, Esc to cancel."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+p", "passphrase", "Passphrase", key_display="Ctrl+P", id="admin.passphrase"),
    ]
    MUTATIONS = frozenset({"finish", "cancel", "passphrase"})
    ENTRY_ACTIONS: ClassVar[frozenset[str]] = frozenset({"reveal", "clear", "passphrase"})

    def instructions(self) -> str:
        minutes = self.ctx.sessions.idle_timeout / 60
        return (
            super().instructions()
            + f" The session is kept in memory only and forgotten after {minutes:g} min unused."
        )

    def finish_call(self) -> Callable[[], Any]:
        collector, client = self.collector, self.ctx.client
        timeout = self.ctx.sessions.idle_timeout
        journal = self.ctx.journal
        return lambda: open_admin_session(collector, client, idle_timeout=timeout, journal=journal)

    def finished(self, result: Any) -> None:
        assert isinstance(result, AdminSession)
        self.ctx.sessions.close()
        self.ctx.sessions.admin = result
        self.notify(f"Admin session open as {result.user_id}.", markup=False)
        self.dismiss(True)

    def action_passphrase(self) -> None:
        # No vault: the administrator passphrase is never offered to the OS keyring.
        self.app.push_screen(PassphrasePrompt("Administrator passphrase"), self._typed)

    def _typed(self, answer: PassphraseAnswer | None) -> None:
        if answer is None:
            return
        creds = answer.credentials
        client, timeout = self.ctx.client, self.ctx.sessions.idle_timeout
        self.run_core(
            "Check administrator passphrase",
            lambda: start_session(client, creds, idle_timeout=timeout, journal=self.ctx.journal),
            self.finished,
            mutation=True,
        )
