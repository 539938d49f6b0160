"""A new user passphrase, shown once in groups, then saved to a 0600 file or the OS keyring, as chosen."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from hsmconsole.admin.people import keep_in_keyring, save_passphrase_file
from hsmconsole.ceremony.plan import paper_rows
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.errors import HsmConsoleError
from hsmconsole.secrets import Secret
from screens.admin.forms import boxed
from screens.dialogs import AskDialog


def grouped_lines(secret: Secret) -> str:
    rows = paper_rows(secret, passphrase=True)
    return "\n".join(f"line {n}   " + "   ".join(row) for n, row in enumerate(rows, start=1))


class PassphraseReveal(ModalScreen[str]):
    """Shows `secret` once. Enter saves it to the file typed below (0600, never over an existing
    file); Ctrl+K keeps it in the OS keyring; Esc closes (after a question when it was not saved).
    The Secret is wiped when the dialog closes. Dismisses with where it went ("" when nowhere)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+k", "keyring", "Keep in keyring", id="admin.reveal.keyring"),
        Binding("escape", "close", "Close", id="admin.reveal.close"),
    ]
    DEFAULT_CSS = """
    PassphraseReveal #reveal-groups { text-style: bold; padding: 1 2; border: solid $primary; height: auto; }
    """

    def __init__(
        self, user_id: str, secret: Secret, vault: CredentialVault, profile: str, *, keyring_allowed: bool
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.user_id = user_id
        self.secret = secret
        self.vault = vault
        self.profile = profile
        self.keyring_allowed = keyring_allowed and vault.available
        self.saved_to = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -prompt"):
            yield Label(
                f"New passphrase of {self.user_id}: shown only now", classes="dialog-title", markup=False
            )
            yield Static(grouped_lines(self.secret), id="reveal-groups", markup=False)
            yield Static(
                "Type it without the spaces. Save it to a new file (Enter) or "
                + (
                    "keep it in the OS keyring (Ctrl+K)."
                    if self.keyring_allowed
                    else "write it down; there is no OS keyring here."
                ),
                classes="hint",
                markup=False,
            )
            yield Label("File (created with mode 0600)")
            yield boxed(
                Input(
                    placeholder=f"e.g. ./{self.user_id.replace('~', '-')}.passphrase",
                    id="reveal-path",
                    compact=True,
                )
            )
            yield Static("", id="reveal-status", markup=False)

    def on_mount(self) -> None:
        self.query_one("#reveal-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self._status("Type a file name, or press Esc if you wrote it down.")
            return
        try:
            path = save_passphrase_file(self.secret, Path(text).expanduser())
        except HsmConsoleError as err:
            self._status(str(err))
            return
        self._finish(f"saved to {path} (mode 0600)")

    def action_keyring(self) -> None:
        if not self.keyring_allowed:
            self._status("The OS keyring is not available for this profile.")
            return
        try:
            keep_in_keyring(self.vault, self.profile, self.user_id, self.secret)
        except HsmConsoleError as err:
            self._status(str(err))
            return
        self._finish("kept in the OS keyring")

    def _finish(self, where: str) -> None:
        self.saved_to = where
        self.notify(f"The passphrase of {self.user_id} was {where}.", markup=False)
        self.dismiss(where)

    def action_close(self) -> None:
        if self.saved_to:
            self.dismiss(self.saved_to)
            return
        ask = AskDialog(
            "Close without saving it?",
            f"The passphrase of {self.user_id} is not shown again. Close only if you wrote it down; "
            "otherwise set a new one later.",
            "Close",
            "Back",
        )
        self.app.push_screen(ask, self._close_answered)

    def _close_answered(self, yes: bool | None) -> None:
        if yes:
            self.dismiss("")

    def _status(self, text: str) -> None:
        self.query_one("#reveal-status", Static).update(text)

    def on_unmount(self) -> None:
        self.secret.wipe()
