"""An unfinished rotation found in the journal: which set is valid, and finish or discard it."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.device.client import Credentials
from hsmconsole.journal.chain import Journal
from hsmconsole.rotation import recover
from hsmconsole.rotation.recover import Assessment, NextStep
from screens.base import DeviceContext
from screens.ceremony.step import CeremonyStep, StepEnd
from screens.dialogs import TypedConfirm
from screens.rotation.current import CurrentQuorumScreen

_ACTION = {
    NextStep.DISCARD: "Enter: discard the new shares (typed confirmation)",
    NextStep.ASK_DEVICE: "Enter: type a quorum of either set; the console asks the device",
    NextStep.FINISH: "Enter: type a quorum of the NEW shares to check them and finish",
}


class RecoveryScreen(CeremonyStep):
    """One unfinished rotation at a time. Nothing is voided on the journal's word alone: a set is
    discarded only when the device cannot have it, and the old set only after the new one opened
    the device."""

    STEP_TITLE = "unfinished rotation"
    ABORTABLE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "next", "Go ahead", key_display="Enter", id="rotation.recovery.next"),
        Binding("escape", "leave", "Later", key_display="Esc", id="rotation.recovery.leave"),
        Binding("f1", "app.help", "Help", key_display="F1", id="rotation.recovery.help"),
    ]

    def __init__(
        self,
        ctx: DeviceContext,
        journal: Journal,
        device_id: str,
        pending: list[Assessment],
        *,
        header: str,
        warning: str = "",
    ) -> None:
        super().__init__(header=header, warning=warning)
        self.ctx = ctx
        self.journal = journal
        self.device_id = device_id
        self.pending = list(pending)
        self.touched = False

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("", id="recovery-valid", classes="c-section", markup=False)
        yield Static("", id="recovery-message", classes="c-text", markup=False)
        yield Static("", id="recovery-action", classes="c-hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        if not self.pending:
            self.dismiss(StepEnd.DONE)
            return
        a = self.pending[0]
        r = a.record
        valid = (
            f"Valid now: set {a.valid.set_id} generation {a.valid.generation}"
            if a.valid is not None
            else f"Valid now: generation {r.old_generation} OR {r.new_generation} (the device decides)"
        )
        self.query_one("#recovery-valid", Static).update(valid)
        self.query_one("#recovery-message", Static).update(a.message)
        self.query_one("#recovery-action", Static).update(_ACTION[a.next] + ". Esc: leave it for now.")

    def _admin(self) -> Credentials | None:
        session = self.ctx.sessions.admin
        return session.credentials() if session is not None and session.open else None

    def action_leave(self) -> None:
        self.dismiss(StepEnd.DONE)

    def action_next(self) -> None:
        a = self.pending[0]
        if a.next is NextStep.DISCARD:
            confirm = TypedConfirm(
                "Discard the new shares?",
                f"Generation {a.record.new_generation} becomes void: its holders destroy their "
                f"shares. Generation {a.record.old_generation} stays valid.",
                "discard",
            )
            self.app.push_screen(confirm, self._discard_answered)
            return
        kw: dict[str, Any] = {"admin": self._admin(), "journal": self.journal, "device_id": self.device_id}
        client = self.ctx.client
        if a.next is NextStep.ASK_DEVICE:

            def start(collector: ShareCollector) -> Assessment:
                return recover.ask_device(a, collector, client, **kw)

            purpose = (
                f"Custodians of EITHER set (generation {a.record.old_generation} or "
                f"{a.record.new_generation}) type their shares; the device is asked, not changed."
            )
        else:

            def start(collector: ShareCollector) -> Assessment:
                recover.finish(a, collector, client, **kw)
                return a

            purpose = f"Custodians of the NEW set (generation {a.record.new_generation}) type their shares."
        screen = CurrentQuorumScreen(self.ctx, a.record.kind, start, purpose=purpose)
        self.app.push_screen(screen, lambda ok: self._quorum_done(screen, ok))

    def _quorum_done(self, screen: CurrentQuorumScreen, ok: bool | None) -> None:
        if not ok:
            return
        self.touched = True
        answer: Assessment = screen.result
        if self.pending[0].next is NextStep.FINISH:
            self.notify("Rotation finished: the new set opens the device; the old one is void.", markup=False)
            self.pending.pop(0)
        else:
            self.pending[0] = answer
        self._show()

    def _discard_answered(self, ok: bool | None) -> None:
        if not ok:
            return
        a = self.pending[0]
        recover.discard(a, journal=self.journal, device_id=self.device_id)
        self.notify("The new shares are void in the journal; the old set stays valid.", markup=False)
        self.pending.pop(0)
        self._show()
