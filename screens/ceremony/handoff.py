"""Between custodians: "hand the keyboard to <name>", with nothing secret on the screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from screens.ceremony.step import COMMON_BINDINGS, CeremonyStep, StepEnd


class HandoffScreen(CeremonyStep):
    """Waits for the named custodian to be alone at the keyboard; Enter shows their shares."""

    STEP_TITLE = "next custodian"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "ready", "Show my shares", key_display="Enter", id="ceremony.handoff.ready"),
        *COMMON_BINDINGS,
    ]
    DEFAULT_CSS = """
    HandoffScreen #handoff-box { align: center middle; height: 1fr; }
    HandoffScreen #handoff-to { width: 100%; content-align: center middle; text-style: bold; }
    HandoffScreen #handoff-name {
        width: 100%; content-align: center middle; text-style: bold reverse; height: 3;
        margin: 1 8;
    }
    HandoffScreen .c-text { width: 100%; content-align: center middle; margin-top: 1; }
    """

    def __init__(
        self,
        custodian: str,
        position: int,
        total: int,
        *,
        witnesses: tuple[str, ...] = (),
        header: str = "Provisioning ceremony",
        warning: str = "",
        secrets_exist: bool = True,
    ) -> None:
        super().__init__(header=header, warning=warning, secrets_exist=secrets_exist)
        self.custodian = custodian
        self.position = position
        self.total = total
        self.witnesses = witnesses

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Vertical(id="handoff-box"):
            yield Static(f"Custodian {self.position} of {self.total}", classes="c-text")
            yield Static("Hand the keyboard to", id="handoff-to")
            yield Static(self.custodian, markup=False, id="handoff-name")
            others = "Everyone else, please step back and look away from the screen"
            if self.witnesses:
                others += " (witnesses watch the room, not the screen)"
            yield Static(f"{others} until {self.custodian} has confirmed.", markup=False,
                         classes="c-text")
            yield Static(
                f"{self.custodian}: when you are alone at the screen and have your paper form, "
                "press Enter to see your shares.",
                markup=False,
                classes="c-text",
            )
        yield Footer()

    def action_ready(self) -> None:
        self.dismiss(StepEnd.DONE)
