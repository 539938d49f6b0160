"""Provisioning checklist: starts on Enter, follows each device step, says what was done and what remains."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, ProgressBar, Static

from hsmconsole.ceremony_record import ProvisioningOutcome
from hsmconsole.errors import HsmConsoleError
from screens.ceremony_step import COMMON_BINDINGS, CeremonyStep, StepEnd

Progress = Callable[[int, int, str], None]
Starter = Callable[[Progress], ProvisioningOutcome]


class RunState(enum.Enum):
    READY = "ready"  # every custodian confirmed; nothing sent yet
    RUNNING = "running"
    REFUSED = "refused"  # refused before the first step: the device is untouched, may retry
    DONE = "done"
    STOPPED = "stopped"  # stopped midway: `done` and `remaining` say where


_MARKS = {"todo": "[ ]", "doing": "[>]", "done": "[x]", "failed": "[!]"}


def stopped_advice(done: Sequence[str]) -> str:
    """What the people in the room do next, by how far provisioning came."""
    if not done:
        return (
            "The first step failed; if the connection dropped, the device may still have taken it. "
            "Refresh the dashboard: if the device is Unprovisioned, destroy the paper shares and "
            "hold a new ceremony; if it is Locked or Operational, keep every share and follow "
            "docs/ceremony.md, 'If something fails midway'."
        )
    return (
        "The device holds the passphrases whose shares you were given: keep every share. "
        "Do the remaining steps as docs/ceremony.md, 'If something fails midway', says."
    )


class ProvisioningScreen(CeremonyStep):
    """Runs `start(progress)` in a thread worker when the person presses Enter."""

    STEP_TITLE = "3. provisioning"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "go", "Provision now", id="ceremony.progress.go"),
        Binding("enter", "close", "Close", id="ceremony.progress.close"),
        *COMMON_BINDINGS,
    ]
    DEFAULT_CSS = """
    ProvisioningScreen #progress-body { height: 1fr; }
    ProvisioningScreen #checklist { padding: 1 1 0 1; height: auto; }
    ProvisioningScreen ProgressBar { padding: 0 1; margin-top: 1; }
    ProvisioningScreen #progress-result { height: auto; margin-top: 1; }
    """

    @dataclass
    class StepStarted(Message):
        """Posted from the worker thread before each device step (index `done` of `total`)."""

        done: int
        total: int
        label: str

    def __init__(
        self,
        steps: Sequence[str],
        device: str,
        start: Starter | None,
        *,
        header: str = "Provisioning ceremony",
        warning: str = "",
    ) -> None:
        super().__init__(header=header, warning=warning, secrets_exist=True)
        self.steps = list(steps)
        self.device = device
        self.start = start
        self.state = RunState.READY
        self.marks = ["todo"] * len(self.steps)
        self.outcome: ProvisioningOutcome | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("", id="progress-intro", markup=False, classes="c-text")
        with VerticalScroll(id="progress-body"):
            yield Static("", id="checklist", markup=False)
            yield ProgressBar(total=len(self.steps), show_eta=False, id="progress-bar")
            yield Static("", id="progress-result", markup=False, classes="c-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#progress-intro", Static).update(
            f"Every custodian has confirmed their shares. Nothing has been sent to {self.device} "
            "yet. Enter provisions it now; Esc aborts and wipes every share."
        )
        self._render_checklist()

    def _render_checklist(self) -> None:
        rows = [f"{_MARKS[m]} {label}" for m, label in zip(self.marks, self.steps, strict=True)]
        self.query_one("#checklist", Static).update("\n".join(rows))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go":
            return self.state in (RunState.READY, RunState.REFUSED)
        if action == "close":
            return self.state in (RunState.DONE, RunState.STOPPED)
        if action == "abort" and self.state not in (RunState.READY, RunState.REFUSED):
            return False  # the device was touched: the way out is Close, after reading what happened
        return super().check_action(action, parameters)

    def action_go(self) -> None:
        if self.start is None or self.state not in (RunState.READY, RunState.REFUSED):
            return
        self.show_running()
        start = self.start

        def report(done: int, total: int, label: str) -> None:
            self.post_message(self.StepStarted(done, total, label))  # thread-safe

        def work() -> ProvisioningOutcome:
            return start(report)

        self.run_core("Provision", work, self.show_outcome, mutation=True, on_error=self.show_refused)
        self.refresh_bindings()

    def show_running(self) -> None:
        self.state = RunState.RUNNING
        self.query_one("#progress-intro", Static).update(
            f"Provisioning {self.device}. Do not close the console or disconnect the device."
        )
        self.query_one("#progress-result", Static).update("")
        self.refresh_bindings()

    def on_provisioning_screen_step_started(self, event: StepStarted) -> None:
        for i in range(min(event.done, len(self.marks))):
            self.marks[i] = "done"
        if event.done < len(self.marks):
            self.marks[event.done] = "doing"
        self.query_one("#progress-bar", ProgressBar).update(progress=event.done)
        self._render_checklist()

    def show_refused(self, err: HsmConsoleError) -> None:
        """Refused before the first step (wrong state, unreachable): untouched, may retry."""
        self.state = RunState.REFUSED
        self.marks = ["todo"] * len(self.steps)
        self._render_checklist()
        self.query_one("#progress-intro", Static).update(f"Nothing was sent to {self.device}.")
        result = self.query_one("#progress-result", Static)
        result.set_classes("c-error")
        result.update(
            f"Not started: {err.title} {err.hint}".strip()
            + "\nEnter tries again (the shares stay valid); Esc aborts and wipes them."
        )
        self.refresh_bindings()

    def show_outcome(self, outcome: ProvisioningOutcome) -> None:
        self.outcome = outcome
        bar = self.query_one("#progress-bar", ProgressBar)
        result = self.query_one("#progress-result", Static)
        where = f"Report: {outcome.report_path}"
        if outcome.journal_path is not None:
            where += f"\nJournal: {outcome.journal_path}"
        stopped = outcome.stopped
        if stopped is None:
            self.state = RunState.DONE
            self.marks = ["done"] * len(self.steps)
            bar.update(progress=len(self.steps))
            self.query_one("#progress-intro", Static).update(
                f"{self.device} is provisioned and Operational. The secrets were wiped from memory."
            )
            result.set_classes("c-ok")
            result.update(f"{where}\nPrint the report and have everyone sign it. Enter closes.")
        else:
            self.state = RunState.STOPPED
            ndone = len(stopped.done)
            self.marks = ["done"] * ndone + ["failed"] + ["todo"] * (len(self.steps) - ndone - 1)
            self.marks = self.marks[: len(self.steps)]
            bar.update(progress=ndone)
            self.query_one("#progress-intro", Static).update(
                f"PROVISIONING STOPPED: {stopped.cause.title}"
            )
            result.set_classes("c-error")
            result.update(
                f"Done: {'; '.join(stopped.done) or 'nothing'}.\n"
                f"Still to do: {'; '.join(stopped.remaining) or 'nothing'}.\n"
                f"{stopped_advice(stopped.done)}\n{where}\nEnter closes."
            )
        self._render_checklist()
        self.refresh_bindings()

    def action_close(self) -> None:
        if self.state in (RunState.DONE, RunState.STOPPED):
            self.dismiss(StepEnd.DONE)
