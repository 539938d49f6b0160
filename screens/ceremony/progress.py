"""Provisioning checklist: starts on Enter, follows each device step, says what was done and what remains."""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Static

from hsmconsole.ceremony.record import ProvisioningOutcome
from hsmconsole.ceremony.run import ProvisioningStopped
from hsmconsole.device.tls import CertificateMismatch
from hsmconsole.device.trust import grouped
from hsmconsole.errors import HsmConsoleError
from screens.ceremony.step import COMMON_BINDINGS, CeremonyStep, StepEnd

Progress = Callable[[int, int, str], None]
Starter = Callable[[Progress], ProvisioningOutcome]


class RunState(enum.Enum):
    READY = "ready"  # every custodian confirmed; nothing sent yet
    CHECKING = "checking"  # the pre-check (device state) runs; still nothing sent, abort allowed
    RUNNING = "running"  # the first request that changes the device is on its way
    REFUSED = "refused"  # refused before the first step: the device is untouched, may retry
    DONE = "done"
    STOPPED = "stopped"  # stopped midway: the checklist says where


_MARKS = {"todo": "[ ]", "doing": "[>]", "done": "[x]", "failed": "[!]"}
ABORTABLE_STATES = (RunState.READY, RunState.CHECKING, RunState.REFUSED)


def stopped_advice(stopped: ProvisioningStopped) -> str:
    """What the people in the room do next, by how far provisioning came."""
    if isinstance(stopped.cause, CertificateMismatch):
        return (
            "The device took the passphrases whose shares you hold: keep every share, send "
            "nothing more over this connection, and follow docs/ceremony.md, 'If something "
            "fails midway'."
        )
    if not stopped.done:
        return (
            "If the connection dropped, the device may still have taken the first step. Refresh "
            "the dashboard: Unprovisioned means destroy the paper shares and hold a new "
            "ceremony; Locked or Operational means keep every share (docs/ceremony.md, 'If "
            "something fails midway')."
        )
    return (
        "The device holds the passphrases whose shares you were given: keep every share. "
        "Do the remaining steps as docs/ceremony.md, 'If something fails midway', says."
    )


def _fingerprint_rows(label: str, fingerprint: str) -> list[str]:
    try:
        parts = grouped(fingerprint)
    except HsmConsoleError:  # not a fingerprint at all (the certificate could not be read)
        parts = [fingerprint]
    return [f"{label if i == 0 else '':<10}{part}" for i, part in enumerate(parts)]


def where_written(report: Path, journal: Path | None) -> str:
    """Where the records are, readable at 80 columns: the folder once, then short names."""
    items = [("Report", report)] + ([("Journal", journal)] if journal is not None else [])
    base = Path(os.path.commonpath([str(path.parent) for _, path in items]))
    if len(items) > 1 and base.parent == base:  # nothing in common but the root: one per item
        return "\n".join(f"{what} in {path.parent}{os.sep}\n  {path.name}" for what, path in items)
    rows = [f"Written to {base}{os.sep}"]
    rows += [f"  {what.lower():<8} {path.relative_to(base)}" for what, path in items]
    return "\n".join(rows)


class ProvisioningScreen(CeremonyStep):
    """Runs `start(progress)` in a thread worker when the person presses Enter.

    `cancel()` ends the ceremony if nothing was sent yet and says whether it did; while the
    device state is being checked, aborting races the worker, and the core decides who won.
    """

    STEP_TITLE = "3. provisioning"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "go", "Provision now", key_display="Enter", id="ceremony.progress.go"),
        Binding("enter", "close", "Close", key_display="Enter", id="ceremony.progress.close"),
        *COMMON_BINDINGS,
    ]
    DEFAULT_CSS = """
    ProvisioningScreen #progress-body { height: 1fr; }
    ProvisioningScreen #checklist { padding: 1 1 0 1; height: auto; }
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
        cancel: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        header: str = "Provisioning ceremony",
        warning: str = "",
    ) -> None:
        super().__init__(header=header, warning=warning, secrets_exist=True)
        self.steps = list(steps)
        self.device = device
        self.start = start
        self.cancel = cancel
        self.clock = clock
        self.state = RunState.READY
        self.marks = ["todo"] * len(self.steps)
        self.outcome: ProvisioningOutcome | None = None
        self._since = 0.0  # when the pre-check or the current step began
        self._step = 0
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("", id="progress-intro", markup=False, classes="c-text")
        with VerticalScroll(id="progress-body"):
            yield Static("", id="checklist", markup=False)
            yield Static("", id="progress-result", markup=False, classes="c-text")
        yield Footer()

    def on_mount(self) -> None:
        self._intro(
            f"Every custodian has confirmed their shares. Nothing has been sent to {self.device} "
            "yet. Enter provisions it now; Esc aborts and wipes every share."
        )
        self._render_checklist()
        self._ticker = self.set_interval(1.0, self._tick, pause=True)

    def _intro(self, text: str) -> None:
        self.query_one("#progress-intro", Static).update(text)

    def _result(self, text: str, style: str = "c-text") -> None:
        result = self.query_one("#progress-result", Static)
        result.set_classes(style)
        result.update(text)

    def _render_checklist(self) -> None:
        rows = [f"{_MARKS[m]} {label}" for m, label in zip(self.marks, self.steps, strict=True)]
        self.query_one("#checklist", Static).update("\n".join(rows))

    def _elapsed(self) -> int:
        return max(0, int(self.clock() - self._since))

    def _tick(self) -> None:
        if self.state is RunState.CHECKING:
            self._intro(
                f"Checking that the device is Unprovisioned ... {self._elapsed()} s. Nothing has "
                f"been sent to {self.device} yet: Esc aborts, and the device stays as it was."
            )
        elif self.state is RunState.RUNNING:
            self._intro(
                f"Provisioning {self.device}: step {self._step + 1} of {len(self.steps)}, "
                f"{self._elapsed()} s. Do not close the console or disconnect the device."
            )

    def _set_ticking(self, on: bool) -> None:
        if self._ticker is not None:
            if on:
                self._ticker.resume()
            else:
                self._ticker.pause()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go":
            return self.state in (RunState.READY, RunState.REFUSED)
        if action == "close":
            return self.state in (RunState.DONE, RunState.STOPPED)
        if action == "abort":
            # Allowed while nothing was sent, even while the pre-check's worker runs (busy).
            return self.state in ABORTABLE_STATES
        return super().check_action(action, parameters)

    def abort_allowed(self) -> bool:
        return self.state in ABORTABLE_STATES

    def interrupt_refusal(self) -> str:
        if self.state is RunState.RUNNING:
            return (
                "Provisioning cannot be stopped once it has begun: the device is being changed. "
                "Wait until it has finished or stopped (a device that stops answering fails the "
                "step after a timeout); the checklist then says what was done."
            )
        return "Provisioning has ended: Enter closes this screen."

    def quit_refusal(self) -> str | None:
        """Why Ctrl+Q must not end the app now, true to what this screen lets people do."""
        if self.state is RunState.RUNNING:
            return (
                "Provisioning is changing the device: wait until it has finished or stopped "
                "(a device that stops answering fails the step after a timeout), then quit."
            )
        if self.state in ABORTABLE_STATES:
            return (
                "Nothing has been sent to the device yet, but the shares are out: press Esc and "
                "type 'abort' to end the ceremony, then quit."
            )
        return None

    def action_go(self) -> None:
        if self.start is None or self.state not in (RunState.READY, RunState.REFUSED):
            return
        self.show_checking()
        start = self.start

        def report(done: int, total: int, label: str) -> None:
            self.post_message(self.StepStarted(done, total, label))  # thread-safe

        def work() -> ProvisioningOutcome:
            return start(report)

        self.run_core("Provision", work, self.show_outcome, mutation=True, on_error=self.show_refused)
        self.refresh_bindings()

    def show_checking(self) -> None:
        """The pre-check runs: nothing is sent until the device answers that it is Unprovisioned."""
        self.state = RunState.CHECKING
        self._since = self.clock()
        self.marks = ["todo"] * len(self.steps)
        self._render_checklist()
        self._result("")
        self._tick()
        self._set_ticking(True)
        self.refresh_bindings()

    def show_running(self, step: int = 0) -> None:
        self.state = RunState.RUNNING
        self._step = step
        self._since = self.clock()
        note = "Esc cannot stop it now: the device is being changed."
        if self.withdraw_abort():  # asked during the pre-check: its "nothing was sent" is past
            note = "Too late to abort: provisioning has begun. " + note
        self._result(note, "c-hint")
        self._tick()
        self._set_ticking(True)
        self.refresh_bindings()

    def on_provisioning_screen_step_started(self, event: StepStarted) -> None:
        if self.state in (RunState.DONE, RunState.STOPPED, RunState.REFUSED):
            return  # a late message from the worker: the outcome is already shown
        if event.done < len(self.marks):
            self.show_running(event.done)
        for i in range(min(event.done, len(self.marks))):
            self.marks[i] = "done"
        if event.done < len(self.marks):
            self.marks[event.done] = "doing"
        self._render_checklist()

    def show_refused(self, err: HsmConsoleError) -> None:
        """Refused before the first step (wrong state, unreachable): untouched, may retry."""
        self.state = RunState.REFUSED
        self._set_ticking(False)
        self.marks = ["todo"] * len(self.steps)
        self._render_checklist()
        self._intro(f"Nothing was sent to {self.device}.")
        self._result(
            f"Not started: {err.title} {err.hint}".strip()
            + "\nEnter tries again (the shares stay valid); Esc aborts and wipes them.",
            "c-error",
        )
        self.refresh_bindings()

    def show_outcome(self, outcome: ProvisioningOutcome) -> None:
        self.outcome = outcome
        self._set_ticking(False)
        where = where_written(outcome.report_path, outcome.journal_path)
        stopped = outcome.stopped
        if stopped is None:
            self.state = RunState.DONE
            self.marks = ["done"] * len(self.steps)
            self._intro(
                f"{self.device} is provisioned and Operational. The secrets were wiped from memory."
            )
            identity = outcome.identity
            device_id = identity.device_id if identity is not None else ""
            facts = f"Device id {device_id}" if device_id else "No device id could be read"
            facts += "; its TLS certificate is the pinned one." if outcome.certificate else "."
            self._result(f"{facts}\n{where}\nPrint the report and have everyone sign it.", "c-ok")
        else:
            self.state = RunState.STOPPED
            ndone = len(stopped.done)
            self.marks = ["done"] * ndone + ["failed"] + ["todo"] * (len(self.steps) - ndone - 1)
            self.marks = self.marks[: len(self.steps)]
            self._intro(f"PROVISIONING STOPPED: {stopped.cause.title}")
            lines = ["[x] done, [!] where it stopped, [ ] still to do."]
            cause = stopped.cause
            if isinstance(cause, CertificateMismatch):
                lines += _fingerprint_rows("Presented", cause.presented or "(not learnt)")
                lines += _fingerprint_rows("Pinned", cause.pinned)
            elif cause.hint:
                lines.append(cause.hint)
            lines += [stopped_advice(stopped), where]
            self._result("\n".join(lines), "c-error")
        self._render_checklist()
        self.refresh_bindings()

    def _abort_answered(self, ok: bool | None) -> None:
        if not ok:
            return
        if self.cancel is not None and not self.cancel():
            # The device answered while the confirmation was open and provisioning began.
            self._result("Too late to abort: provisioning has begun. Wait for it to end.", "c-error")
            return
        self._set_ticking(False)
        self.dismiss(StepEnd.ABORT)

    def action_close(self) -> None:
        if self.state in (RunState.DONE, RunState.STOPPED):
            self.dismiss(StepEnd.DONE)
