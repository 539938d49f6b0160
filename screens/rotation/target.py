"""Which passphrase to rotate, and to whom: secret, new custodians, K of N; checked before any quorum."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Label, Static

from hsmconsole.custody.shares import SecretKind, SetRef
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.rotation.plan import ROTATABLE, make_plan
from screens.ceremony.step import COMMON_BINDINGS, StepEnd
from screens.rotation.steps import RotationAbort
from screens.widgets.radio import PlainRadioButton, PlainRadioSet

_PLACEHOLDER_SET = SetRef("AAAAAAAA", 1)  # roster checks need no real set: the quorum comes next


@dataclass(frozen=True)
class RotationTarget:
    kind: SecretKind
    holders: tuple[str, ...]
    threshold: int


class TargetScreen(RotationAbort):
    """Builds `self.target`; refuses a bad roster or K-of-N before anyone types a share."""

    STEP_TITLE = "1. what and to whom"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next", key_display="Ctrl+N", id="rotation.target.next"),
        *COMMON_BINDINGS,
    ]
    DEFAULT_CSS = """
    TargetScreen RadioSet { margin: 0 1; height: auto; }
    TargetScreen Label { padding: 0 1; }
    """

    def __init__(self, *, has_admin_session: bool, header: str, warning: str = "") -> None:
        super().__init__(header=header, warning=warning)
        self.has_admin_session = has_admin_session
        self.target: RotationTarget | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(
            "A rotation makes a NEW passphrase, splits it to the custodians below and changes the "
            "device only after each has confirmed their share. The old shares work until then.",
            classes="c-text",
        )
        with PlainRadioSet(id="kind"):
            for kind in ROTATABLE:
                yield PlainRadioButton(f"{kind.value} passphrase", value=kind is SecretKind.UNLOCK)
        yield Label("New custodians, comma-separated (same or changed roster):")
        yield Input(placeholder="e.g. Bob, Carol, Dave, Erin", id="holders")
        yield Label("Shares needed to rebuild it (K, at least 2):")
        yield Input(placeholder="e.g. 3", id="threshold")
        yield Static("", id="target-error", classes="c-error", markup=False)
        yield Static(
            "Tab moves between fields; Enter or Ctrl+N goes on to the current shares.", classes="c-hint"
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#kind", PlainRadioSet).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "holders":
            self.query_one("#threshold", Input).focus()
        else:
            self.action_next()

    def _kind(self) -> SecretKind:
        index = self.query_one("#kind", PlainRadioSet).pressed_index
        return ROTATABLE[index if index >= 0 else 0]

    def action_next(self) -> None:
        error = self.query_one("#target-error", Static)
        try:
            kind = self._kind()
            holders = tuple(p for p in self.query_one("#holders", Input).value.split(",") if p.strip())
            text = self.query_one("#threshold", Input).value.strip()
            if not text.isdigit():
                raise InputError("Give K, the number of shares needed, as a number.")
            plan = make_plan(kind, _PLACEHOLDER_SET, holders, int(text))
            if kind is not SecretKind.ADMIN and not self.has_admin_session:
                raise InputError(
                    f"Changing the {kind.value} passphrase needs an admin session.",
                    "Esc, open one from the dashboard (a), then start the rotation again.",
                )
        except HsmConsoleError as err:
            error.update(f"{err.title} {err.hint}".strip())
            return
        self.target = RotationTarget(kind, plan.holders, plan.threshold)
        self.dismiss(StepEnd.DONE)
