"""The ceremony flow: an async worker that pushes each step in order, journals it, and handles abort."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TypeVar

from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import WorkerFailed

from hsmconsole.ceremony.plan import Ceremony, CeremonyPlan, Phase, TurnState
from hsmconsole.ceremony.record import (
    CeremonyRecorder,
    envelope_suggestion,
    journal_device_id,
    provision_and_report,
    seal_turn,
)
from hsmconsole.ceremony.run import Probe, plan_steps, presented_fingerprint, tls_problems
from hsmconsole.custody.envelope import DEFAULT_KDF, KdfParams
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.profiles import Profile, default_data_dir
from hsmconsole.errors import StateError
from hsmconsole.fileio import removable_media
from hsmconsole.journal.chain import Journal
from hsmconsole.models import DeviceState
from screens.base import DeviceContext, as_console_error, banner_text
from screens.ceremony.confirm import ConfirmScreen
from screens.ceremony.handoff import HandoffScreen
from screens.ceremony.progress import ProvisioningScreen
from screens.ceremony.reveal import RevealScreen, pages_for_turn
from screens.ceremony.review import ReviewScreen
from screens.ceremony.roster import RosterScreen
from screens.ceremony.step import CeremonyStep, StepEnd
from screens.dialogs import ErrorDialog

R = TypeVar("R")


class _Aborted(Exception):
    """A person confirmed the abort at step `where`."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class CeremonyScreen(Screen[bool]):
    """Backdrop of the ceremony: the steps are pushed over it one by one, so between two steps
    (and between two custodians) the screen shows nothing but this. Dismisses True if the device
    was touched (the dashboard refreshes), False if the ceremony ended before provisioning."""

    BINDINGS: ClassVar[list[BindingType]] = []
    DEFAULT_CSS = """
    CeremonyScreen #ceremony-title { text-style: bold; padding: 0 1; background: $primary; }
    CeremonyScreen #ceremony-status { padding: 1 1; }
    """

    def __init__(
        self,
        ctx: DeviceContext,
        *,
        data_dir: Path | None = None,
        rng: Callable[[int], int] = secrets.randbelow,
        kdf: KdfParams = DEFAULT_KDF,
        probe: Probe = presented_fingerprint,
        media: Callable[[], list[Path]] = removable_media,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.data_dir = data_dir or default_data_dir()
        self.rng = rng
        self.kdf = kdf
        self.probe = probe  # reads the certificate the device presents, for the Pin TLS step
        self.media = media  # lists mounted removable media, offered first for envelopes
        # Without the app's journal, keep the emulator's history apart from real devices'.
        own = "emulator-journal.jsonl" if ctx.emulator else "journal.jsonl"
        self.journal = ctx.journal or Journal(self.data_dir / own)
        self.recorder = CeremonyRecorder(self.journal, journal_device_id(ctx.profile))
        self.ceremony: Ceremony | None = None
        self.touched = False

    @property
    def profile(self) -> Profile:
        return self.ctx.profile

    @property
    def client(self) -> DeviceClient:
        return self.ctx.client

    @property
    def device(self) -> str:
        return f"{self.profile.name} ({self.profile.host})"

    @property
    def header(self) -> str:
        return f"Provisioning ceremony, {self.profile.name}"

    @property
    def warning(self) -> str:
        return banner_text(self.profile, self.ctx.emulator)

    def compose(self) -> ComposeResult:
        yield Static(self.header, markup=False, id="ceremony-title")
        yield Static("", id="ceremony-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._flow(), name="ceremony", group="ceremony", exit_on_error=False)

    # --- plumbing --------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        self.query_one("#ceremony-status", Static).update(text)

    async def _step(self, screen: CeremonyStep, where: str) -> StepEnd:
        end = await self.app.push_screen_wait(screen)
        if end is StepEnd.ABORT:
            raise _Aborted(where)
        return end

    async def _in_thread(self, label: str, fn: Callable[[], R]) -> R:
        worker = self.run_worker(fn, name=label, group="ceremony-io", thread=True, exit_on_error=False)
        try:
            return await worker.wait()
        except WorkerFailed as failed:
            raise failed.error from None

    # --- the flow --------------------------------------------------------------------------------
    async def _flow(self) -> None:
        try:
            self.touched = await self._run()
        except _Aborted as aborted:
            await self._abort(aborted.where)
        except Exception as exc:
            # Any failure before provisioning leaves the device untouched: wipe, then say why.
            if self.ceremony is not None:
                self.ceremony.abort()
            await self.app.push_screen_wait(ErrorDialog(as_console_error(exc)))
        finally:
            # While provisioning runs its worker still needs the secrets, and wipes them itself.
            if self.ceremony is not None and self.ceremony.phase is not Phase.PROVISIONING:
                self.ceremony.wipe()
        self.dismiss(self.touched)

    async def _abort(self, where: str) -> None:
        ceremony = self.ceremony
        if ceremony is not None:
            shown = any(turn.state is not TurnState.WAITING for turn in ceremony.turns)
            ceremony.abort()
            await self._in_thread("Journal", lambda: self.recorder.aborted(ceremony, where))
            text = "Ceremony aborted. Every share was wiped from memory; nothing was sent to the device."
            if shown:
                text += " Destroy any paper copy made so far: those shares are worthless now."
        else:
            await self._in_thread("Journal", lambda: self.recorder.aborted(None, where))
            text = "Ceremony aborted before any secret was made; nothing was sent to the device."
        self.notify(text, severity="warning", timeout=10, markup=False)

    async def _run(self) -> bool:
        plan = await self._plan()
        problems = tls_problems(self.profile)
        if problems:  # the review refuses to start already; this is the last line of defence
            raise StateError("The connection's TLS certificate is not pinned.", problems[0])
        self._status("Checking the device state ...")
        state = await self._in_thread("Read device state", self.client.state)
        if state is not DeviceState.UNPROVISIONED:
            raise StateError(
                f"The device is {state.value}, not Unprovisioned.",
                "Nothing was generated and nothing was sent. A ceremony needs a new or "
                "factory-reset NetHSM.",
            )
        self._status("Generating the secrets in memory ...")
        ceremony = Ceremony(plan, rng=self.rng)
        self.ceremony = ceremony
        await self._in_thread("Journal", lambda: self.recorder.roster(plan))
        await self._in_thread("Generate", ceremony.generate)
        await self._in_thread("Journal", lambda: self.recorder.generated(ceremony))
        total = len(ceremony.turns)
        for position in range(1, total + 1):
            await self._turn(ceremony, position, total)
        self._status("Every custodian has confirmed.")
        progress = ProvisioningScreen(
            [label for _, label in plan_steps(ceremony)],
            self.device,
            lambda cb: provision_and_report(
                ceremony, self.client, self.profile, data_dir=self.data_dir, journal=self.journal,
                progress=cb, probe=self.probe,
            ),
            cancel=ceremony.abort,
            header=self.header, warning=self.warning,
        )
        await self._step(progress, "provisioning (before it started)")
        return progress.outcome is not None

    async def _plan(self) -> CeremonyPlan:
        plan: CeremonyPlan | None = None
        while True:
            roster = RosterScreen(plan=plan, header=self.header, warning=self.warning)
            await self._step(roster, "the roster")
            assert roster.plan is not None
            plan = roster.plan
            review = ReviewScreen(
                plan, self.device, connection_problems=tls_problems(self.profile),
                header=self.header, warning=self.warning,
            )
            if await self._step(review, "the review") is StepEnd.DONE:
                return review.plan  # with the acknowledgement of any K = N risk

    async def _turn(self, ceremony: Ceremony, position: int, total: int) -> None:
        turn = ceremony.current_turn
        assert turn is not None
        name = turn.custodian
        self._status(f"Custodian {position} of {total}.")
        handoff = HandoffScreen(
            name, position, total, witnesses=ceremony.plan.witnesses, header=self.header,
            warning=self.warning,
        )
        await self._step(handoff, f"the handoff to {name}")
        ceremony.reveal(name)
        while True:
            reveal = RevealScreen(name, pages_for_turn(turn), header=self.header, warning=self.warning)
            await self._step(reveal, f"{name}'s shares")
            challenge = ceremony.challenge(name)
            media = self.media()  # read again for each custodian: sticks come and go
            if not challenge.parts:
                break  # nothing was shown: nothing to re-type
            confirm = ConfirmScreen(
                name,
                challenge.parts,
                lambda typed: ceremony.confirm(name, typed),
                seal=lambda path, secret: seal_turn(ceremony, name, path, secret, kdf=self.kdf),
                envelope_path=envelope_suggestion(ceremony, name, media),
                header=self.header, warning=self.warning, media=media,
            )
            if await self._step(confirm, f"{name}'s confirmation") is StepEnd.DONE:
                break
        sealed_to = turn.sealed_to
        await self._in_thread("Journal", lambda: self.recorder.confirmed(ceremony, name))
        if sealed_to:
            await self._in_thread("Journal", lambda: self.recorder.sealed(ceremony, name, sealed_to))
        ceremony.finish_turn(name)

    def quit_refusal(self) -> str | None:
        """Why Ctrl+Q must not end the app now (see HsmConsoleApp.action_quit), or None."""
        phase = self.ceremony.phase if self.ceremony is not None else None
        if phase is Phase.PROVISIONING:
            return "Provisioning is changing the device: wait until it has finished or stopped."
        if phase in (Phase.TURNS, Phase.READY):
            return "A ceremony is in progress: press Esc and type 'abort' to end it, then quit."
        return None

    def on_unmount(self) -> None:
        if self.ceremony is not None and self.ceremony.phase is not Phase.PROVISIONING:
            self.ceremony.wipe()


def open_ceremony(app: App[object], ctx: DeviceContext, callback: Callable[[bool | None], None]) -> None:
    """Start a ceremony over the current screen; `callback(touched)` runs when it ends."""
    app.push_screen(CeremonyScreen(ctx), callback)


__all__ = ["CeremonyScreen", "open_ceremony"]
