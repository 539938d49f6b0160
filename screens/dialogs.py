"""Modal dialogs: an error to read, a typed confirmation for destructive actions, a passphrase prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from hsmconsole.device.client import Credentials
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.tls import CertificateMismatch
from hsmconsole.device.trust import grouped
from hsmconsole.errors import ErrorKind, HsmConsoleError
from hsmconsole.secrets import Secret
from screens.widgets.checkbox import PlainCheckbox
from screens.widgets.secret_input import SecretInput

ABORT_WORD = "abort"  # what a person types to stop a ceremony or a quorum entry midway

_TITLES = {
    ErrorKind.CONNECTION: "Connection problem",
    ErrorKind.INTEGRITY: "Integrity check failed",
    ErrorKind.AUTH: "Not allowed",
    ErrorKind.DEVICE: "The device refused",
    ErrorKind.INTERNAL: "Internal error",
    ErrorKind.INPUT: "Check your input",
    ErrorKind.STATE: "Not possible now",
}


def _both_fingerprints(err: CertificateMismatch) -> ComposeResult:
    """Pinned and presented fingerprints, grouped as on the first-contact dialog for reading aloud."""
    yield Static("Pinned for this profile (SHA-256):", markup=False)
    yield Static("\n".join(grouped(err.pinned)) if err.pinned else "(none)", markup=False,
                 id="pinned-fingerprint", classes="fingerprint")
    yield Static("Presented by the device just now:", markup=False)
    yield Static("\n".join(grouped(err.presented)) if err.presented else "(not known)", markup=False,
                 id="presented-fingerprint", classes="fingerprint")


class ErrorDialog(ModalScreen[None]):
    """One error, its title and what to do next. Text may come from a device: never markup."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", id="dialog.close")]

    def __init__(self, err: HsmConsoleError) -> None:
        super().__init__(classes="dialog-screen")
        self.err = err

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -error"):
            yield Label(_TITLES.get(self.err.kind, "Error"), classes="dialog-title")
            yield Static(self.err.title, markup=False, id="error-title")
            if isinstance(self.err, CertificateMismatch):
                yield from _both_fingerprints(self.err)
            if self.err.hint:
                yield Static(self.err.hint, markup=False, id="error-hint", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("OK", id="ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class TypedConfirm(ModalScreen[bool]):
    """A destructive action goes ahead only when the person types `word` exactly; never one key."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, what: str, consequence: str, word: str) -> None:
        super().__init__(classes="dialog-screen")
        self.what = what
        self.consequence = consequence
        self.word = word

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -confirm"):
            yield Label(self.what, classes="dialog-title", markup=False)
            yield Static(self.consequence, markup=False, classes="hint")
            yield Static(f"Type {self.word} and press Enter to go ahead; Esc cancels.", markup=False)
            # No placeholder: where dim text is not rendered (Linux console) it reads as typed.
            yield Input(id="confirm-word", compact=True)
            yield Static("", id="confirm-status", markup=False)

    def on_mount(self) -> None:
        self.query_one("#confirm-word", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.word:
            self.dismiss(True)
        else:
            self.query_one("#confirm-status", Static).update(
                f"That is not {self.word}. Nothing was done."
            )
            event.input.value = ""

    def action_cancel(self) -> None:
        self.dismiss(False)


class AskDialog(ModalScreen[bool]):
    """A yes/no question for a reversible step (never a destructive one: those use TypedConfirm).
    The "no" button has the focus, so Enter alone changes nothing."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, question: str, explanation: str, yes: str, no: str = "Cancel") -> None:
        super().__init__(classes="dialog-screen")
        self.question, self.explanation, self.yes, self.no = question, explanation, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -confirm"):
            yield Label(self.question, classes="dialog-title", markup=False)
            yield Static(self.explanation, markup=False, classes="hint")
            with Horizontal(classes="buttons"):
                yield Button(self.yes, id="yes", variant="warning", compact=True)
                yield Button(self.no, id="no", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_cancel(self) -> None:
        self.dismiss(False)


@dataclass(frozen=True)
class PassphraseAnswer:
    """What the prompt gathered; `remember` asks to keep the passphrase in the OS keyring once the
    device has accepted it (the prompt itself stores nothing)."""

    credentials: Credentials
    remember: bool = False


class PassphrasePrompt(ModalScreen[PassphraseAnswer | None]):
    """Ask for a user id and passphrase (masked). With `allow_remember`, for day-to-day users only,
    offers the OS keyring when a real backend exists: custodian secrets such as the admin
    passphrase never go there (their callers do not allow it)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(
        self,
        title: str,
        *,
        user_id: str = "admin",
        vault: CredentialVault | None = None,
        allow_remember: bool = False,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.user_id = user_id
        self.vault = vault
        self.offer_keyring = allow_remember and vault is not None and vault.available
        # Where keeping it was wanted but no backend exists, say why the option is missing.
        self.no_keyring = allow_remember and vault is not None and not vault.available

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -prompt"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Label("User id")
            yield Input(self.user_id, id="user-id", compact=True)
            yield Label("Passphrase (hidden)")
            yield SecretInput(id="passphrase", compact=True)
            if self.offer_keyring:
                yield PlainCheckbox("Remember in the OS keyring", id="remember", compact=True)
            elif self.no_keyring and self.vault is not None:
                yield Static(self.vault.notice, markup=False, classes="hint")

    def on_mount(self) -> None:
        self.query_one("#passphrase" if self.user_id else "#user-id", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "user-id":
            self.query_one("#passphrase", Input).focus()
            return
        user = self.query_one("#user-id", Input).value.strip()
        box = self.query_one("#passphrase", Input)
        if not user or not box.value:
            self.notify("Give both the user id and the passphrase.", severity="warning")
            return
        secret = Secret(box.value, label=f"passphrase of {user}")
        box.value = ""  # do not leave it in the widget
        remember = self.offer_keyring and self.query_one("#remember", PlainCheckbox).value
        self.dismiss(PassphraseAnswer(Credentials(user, secret), remember=remember))

    def action_cancel(self) -> None:
        self.query_one("#passphrase", Input).value = ""
        self.dismiss(None)

    def action_abort(self) -> None:
        """Ctrl+C in the passphrase field: nothing was sent yet, so it cancels like Esc."""
        self.action_cancel()
