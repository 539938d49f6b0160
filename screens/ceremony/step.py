"""What every ceremony step screen shares: a title line, a warning banner, and abort with confirmation."""

from __future__ import annotations

import enum
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from screens.base import CoreScreen
from screens.dialogs import ABORT_WORD, TypedConfirm

COMMON_BINDINGS: list[BindingType] = [
    Binding("escape", "abort", "Abort", key_display="Esc", id="ceremony.abort"),
    # Textual binds Ctrl-C to copy; in a ceremony it means "stop", as in any terminal program:
    # the abort where it is allowed, else a word on why this step cannot be stopped.
    Binding("ctrl+c", "interrupt", "Abort", show=False, priority=True, id="ceremony.abort_ctrl_c"),
    Binding("f1", "app.help", "Help", key_display="F1", id="ceremony.help"),
]


class StepEnd(enum.Enum):
    """How a step screen ended; the flow controller reads any data from the screen's attributes."""

    DONE = "done"
    BACK = "back"  # review: edit the roster again
    LOOK_AGAIN = "look-again"  # confirm: show the custodian's shares once more
    ABORT = "abort"  # confirmed by the person: wipe everything, device untouched




class CeremonyStep(CoreScreen[StepEnd]):
    """A step of the ceremony. Escape or Ctrl-C asks for a typed confirmation, then ends with ABORT.

    `secrets_exist` changes the warning: once shares were handed out, aborting voids them.
    """

    STEP_TITLE: ClassVar[str] = ""
    ABORTABLE: ClassVar[bool] = True
    # Each step lists its own keys first, then these (the Footer shows them in that order).
    BINDINGS: ClassVar[list[BindingType]] = []
    DEFAULT_CSS = """
    CeremonyStep .c-title { text-style: bold; padding: 0 1; height: 1; background: $primary; }
    CeremonyStep .c-warning { text-style: bold; padding: 0 1; background: $warning; color: black; }
    CeremonyStep .c-hint { padding: 0 1; color: $text-muted; }
    CeremonyStep .c-text { padding: 0 1; }
    CeremonyStep .c-error { padding: 0 1; color: $error; text-style: bold; }
    CeremonyStep .c-ok { padding: 0 1; color: $success; text-style: bold; }
    CeremonyStep .c-section { padding: 0 1; margin-top: 1; text-style: bold; }
    /* One row high, so no box: a line either side shows where each field is even unfocused (a
       background tint alone does not show on a 16-colour console); the focused one is filled. */
    CeremonyStep Input {
        border: none; border-left: solid $foreground; border-right: solid $foreground;
        height: 1; padding: 0 1; margin: 0 1; background: $surface;
    }
    CeremonyStep Input:focus {
        border: none; border-left: solid $primary; border-right: solid $primary;
        background: $primary; color: $text; text-style: bold;
    }
    """

    def __init__(self, *, header: str = "Provisioning ceremony", warning: str = "",
                 secrets_exist: bool = False) -> None:
        super().__init__()
        self.header = header
        self.warning = warning
        self.secrets_exist = secrets_exist
        self.abort_confirm: TypedConfirm | None = None

    def compose_header(self) -> ComposeResult:
        title = f"{self.header}: {self.STEP_TITLE}" if self.STEP_TITLE else self.header
        yield Static(title, markup=False, classes="c-title", id="step-title")
        if self.warning:
            yield Static(self.warning, markup=False, classes="c-warning", id="step-warning")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "abort" and (not self.ABORTABLE or self.busy):
            return None
        return super().check_action(action, parameters)

    def abort_allowed(self) -> bool:
        """Whether the abort may be asked for now (Ctrl+C asks whatever the footer shows)."""
        return self.ABORTABLE and not self.busy

    def interrupt_refusal(self) -> str:
        """What Ctrl+C says where the abort is not allowed."""
        return "This step cannot be stopped now: wait until it has finished."

    def action_interrupt(self) -> None:
        if isinstance(self.app.screen, TypedConfirm):
            return
        if self.abort_allowed():
            self.action_abort()
        else:
            self.notify(self.interrupt_refusal(), title="Ctrl+C", severity="warning", markup=False)

    def action_abort(self) -> None:
        if isinstance(self.app.screen, TypedConfirm):
            return
        if self.secrets_exist:
            consequence = (
                "Every share handed out so far is wiped and becomes worthless: destroy the paper "
                "copies. Nothing was sent to the device; it stays Unprovisioned."
            )
        else:
            consequence = "Nothing was generated and nothing was sent to the device."
        confirm = TypedConfirm("Abort the provisioning ceremony?", consequence, ABORT_WORD)
        self.abort_confirm = confirm
        self.app.push_screen(confirm, self._abort_answered)

    def withdraw_abort(self) -> bool:
        """Close an abort confirmation still open over this step (it no longer tells the truth,
        e.g. provisioning began meanwhile); True if one was open."""
        confirm, self.abort_confirm = self.abort_confirm, None
        if confirm is not None and confirm.is_attached and self.app.screen is confirm:
            confirm.dismiss(False)
            return True
        return False

    def _abort_answered(self, ok: bool | None) -> None:
        self.abort_confirm = None
        if ok:
            self.dismiss(StepEnd.ABORT)
