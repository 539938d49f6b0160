"""What to rotate: a device passphrase (with its custodians), day-to-day users' passphrases, or TLS."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from screens.ceremony.step import StepEnd
from screens.rotation.steps import RotationAbort

CHOICES = (
    ("device", "Unlock, admin or backup passphrase (custodians and shares)"),
    ("users", "Day-to-day users' passphrases (one user, a role or a namespace)"),
    ("tls", "The device's TLS key or certificate"),
)


class RotationMenu(RotationAbort):
    """Sets `self.choice` to one of CHOICES' ids."""

    STEP_TITLE = "what to rotate"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back", key_display="Esc", id="rotation.menu.back"),
        Binding("f1", "app.help", "Help", key_display="F1", id="rotation.menu.help"),
    ]

    def __init__(self, *, ages: str = "", header: str, warning: str = "") -> None:
        super().__init__(header=header, warning=warning)
        self.ages = ages
        self.choice = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        if self.ages:
            yield Static(f"Ages: {self.ages}", classes="c-text", markup=False)
        yield Static("Choose with the arrows and Enter:", classes="c-text")
        yield OptionList(*[Option(label, id=key) for key, label in CHOICES], id="rotation-choices")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.choice = event.option.id or ""
        self.dismiss(StepEnd.DONE)

    def action_leave(self) -> None:
        self.dismiss(StepEnd.ABORT)
