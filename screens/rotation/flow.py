"""The rotation flow: unfinished rotations first, then target, current quorum, hand-out, device change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import WorkerFailed

from hsmconsole.ceremony.plan import ChallengePart
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.device.client import Credentials
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.errors import StateError
from hsmconsole.rotation import recover, run
from hsmconsole.rotation.plan import Rotation, Step
from hsmconsole.rotation.record import RotationRecorder
from screens.base import DeviceContext, as_console_error, banner_text
from screens.ceremony.reveal import RevealPage
from screens.ceremony.step import StepEnd
from screens.dialogs import ErrorDialog
from screens.rotation.current import CurrentQuorumScreen
from screens.rotation.journal import journal_for
from screens.rotation.menu import RotationMenu
from screens.rotation.recovery import RecoveryScreen
from screens.rotation.steps import RotationConfirm, RotationHandoff, RotationReveal
from screens.rotation.target import TargetScreen
from screens.rotation.tls import TlsRotationScreen
from screens.rotation.users import UserRotationScreen

R = TypeVar("R")


class _Stopped(Exception):
    """A person aborted at `where` (before the device was changed)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class RotationScreen(Screen[bool]):
    """Backdrop: each step is pushed over it, so between custodians it shows only this status.
    Dismisses True when the device may have changed."""

    BINDINGS: ClassVar[list[BindingType]] = []
    DEFAULT_CSS = """
    RotationScreen #rotation-title { text-style: bold; padding: 0 1; background: $primary; }
    RotationScreen #rotation-status { padding: 1 1; }
    """

    def __init__(self, ctx: DeviceContext, *, data_dir: Path | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.journal = journal_for(ctx, data_dir)
        self.device_id = ctx.profile.name[:64]
        self.rotation: Rotation | None = None
        self.recorder: RotationRecorder | None = None
        self.touched = False

    @property
    def header(self) -> str:
        return f"Credential rotation, {self.ctx.profile.name}"

    @property
    def warning(self) -> str:
        return banner_text(self.ctx.profile, self.ctx.emulator)

    def admin(self) -> Credentials | None:
        session = self.ctx.sessions.admin
        return session.credentials() if session is not None and session.open else None

    def compose(self) -> ComposeResult:
        yield Static(self.header, markup=False, id="rotation-title")
        yield Static("", id="rotation-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._flow(), name="rotation", group="rotation", exit_on_error=False)

    def _status(self, text: str) -> None:
        self.query_one("#rotation-status", Static).update(text)

    async def _step(self, screen: Screen[Any], where: str) -> Any:
        end = await self.app.push_screen_wait(screen)
        if end is StepEnd.ABORT or end is False:
            raise _Stopped(where)
        return end

    async def _push(self, screen: Screen[Any]) -> Any:
        return await self.app.push_screen_wait(screen)

    async def _in_thread(self, label: str, fn: Callable[[], R]) -> R:
        worker = self.run_worker(fn, name=label, group="rotation-io", thread=True, exit_on_error=False)
        try:
            return await worker.wait()
        except WorkerFailed as failed:
            raise failed.error from None

    # --- the flow ------------------------------------------------------------------------------
    async def _flow(self) -> None:
        try:
            await self._run()
        except _Stopped as stopped:
            await self._stopped(stopped.where)
        except Exception as exc:
            await self._failed(exc)
        finally:
            if self.rotation is not None:
                self.rotation.wipe()  # the journal has what recovery needs; secrets go now
        self.dismiss(self.touched)

    async def _run(self) -> None:
        menu = RotationMenu(header=self.header, warning=self.warning)
        await self._step(menu, "the menu")
        if menu.choice == "users":
            self.touched = bool(await self._push(UserRotationScreen(self.ctx)))
            return
        if menu.choice == "tls":
            store = getattr(self.app, "store", None)
            tls_screen = TlsRotationScreen(self.ctx, store if isinstance(store, ProfileStore) else None)
            self.touched = bool(await self._push(tls_screen))
            return
        self._status("Reading the journal for unfinished rotations ...")
        pending = await self._in_thread("Journal", lambda: recover.pending(self.journal, self.device_id))
        if pending:
            screen = RecoveryScreen(
                self.ctx, self.journal, self.device_id, pending, header=self.header, warning=self.warning
            )
            await self.app.push_screen_wait(screen)
            self.touched = screen.touched
            return
        target_screen = TargetScreen(
            has_admin_session=self.admin() is not None, header=self.header, warning=self.warning
        )
        await self._step(target_screen, "the target")
        target = target_screen.target
        assert target is not None

        def start(collector: ShareCollector) -> tuple[Rotation, RotationRecorder]:
            return run.start_rotation(
                target.kind,
                collector,
                target.holders,
                target.threshold,
                self.ctx.client,
                admin=self.admin(),
                journal=self.journal,
                device_id=self.device_id,
            )

        quorum = CurrentQuorumScreen(self.ctx, target.kind, start)
        await self._step(quorum, "the current shares")
        rotation, recorder = quorum.result
        self.rotation, self.recorder = rotation, recorder
        self._status("Generating the new passphrase in memory and splitting it ...")
        await self._in_thread("Generate", lambda: run.generate(rotation, recorder))
        total = len(rotation.handouts)
        for position in range(1, total + 1):
            await self._turn(rotation, recorder, position, total)
        self._status("Every new custodian has confirmed. Changing the device ...")
        self.touched = True
        await self._in_thread(
            "Change",
            lambda: run.apply(
                rotation, recorder, self.ctx.client, admin=self.admin(), progress=self._progress_from_thread
            ),
        )
        plan = rotation.plan
        if plan.kind.value == "admin":
            self.ctx.sessions.close()  # its passphrase is the old one now
        self.notify(
            f"The {plan.kind.value} passphrase was rotated to set {plan.old.set_id} generation "
            f"{plan.generation} and checked against the device; generation {plan.old.generation} is void.",
            timeout=12,
            markup=False,
        )

    def _progress_from_thread(self, done: int, total: int, label: str) -> None:
        self.app.call_from_thread(self._status, f"Device step {min(done + 1, total)} of {total}: {label}")

    async def _turn(self, rotation: Rotation, recorder: RotationRecorder, position: int, total: int) -> None:
        handout = rotation.current
        assert handout is not None
        name = handout.custodian
        await self._step(
            RotationHandoff(name, position, total, header=self.header, warning=self.warning),
            f"the handoff to {name}",
        )
        meta = handout.share.set
        page = RevealPage(
            f"Share of the {meta.kind.value.upper()} passphrase (NEW, generation {meta.generation})",
            f"set {meta.set_id}, generation {meta.generation} (replaces generation "
            f"{rotation.plan.old.generation}); share {handout.share.index} of {meta.count}; any "
            f"{meta.threshold} recover it; check {handout.fingerprint}",
            handout.text,
        )
        while True:
            await self._step(
                RotationReveal(name, [page], header=self.header, warning=self.warning), f"{name}'s share"
            )
            ask = rotation.challenge(name)
            part = ChallengePart(ask.page, ask.what, ask.line, ask.column, ask.length)
            envelope = (
                self.journal.path.parent
                / "envelopes"
                / (f"{name.replace(' ', '-')}-{meta.set_id}-g{meta.generation}.envelope")
            )
            confirm = RotationConfirm(
                name,
                [part],
                lambda typed: rotation.confirm(name, typed),
                seal=lambda path, secret: run.seal_handout(rotation, recorder, name, path, secret),
                envelope_path=envelope,
                header=self.header,
                warning=self.warning,
            )
            if await self._step(confirm, f"{name}'s confirmation") is StepEnd.DONE:
                break
        await self._in_thread("Journal", lambda: run.turn_done(rotation, recorder, name))

    async def _stopped(self, where: str) -> None:
        rotation, recorder = self.rotation, self.recorder
        if rotation is not None and recorder is not None and not rotation.step.device_may_have_new:
            await self._in_thread("Journal", lambda: run.abandon(rotation, recorder, where))
            self.notify(
                "Rotation aborted: the new shares are void (destroy any written down); the current "
                "shares keep working. Nothing was sent to the device.",
                severity="warning",
                timeout=10,
                markup=False,
            )

    async def _failed(self, exc: BaseException) -> None:
        rotation = self.rotation
        err = as_console_error(exc)
        if rotation is not None and rotation.step is Step.CHANGING:
            err = StateError(
                err.title,
                err.hint + " Open Rotate again: it asks the device which set is current.",
            )
        await self.app.push_screen_wait(ErrorDialog(err))

    def quit_refusal(self) -> str | None:
        rotation = self.rotation
        if rotation is None:
            return None
        if rotation.step in (Step.CHANGING, Step.CHANGED, Step.VERIFIED):
            return "The rotation is changing the device: wait until it has finished or stopped."
        if rotation.step in (Step.GENERATED, Step.DISTRIBUTED):
            return "A rotation is in progress: press Esc and type 'abort' to end it, then quit."
        return None

    def on_unmount(self) -> None:
        if self.rotation is not None:
            self.rotation.wipe()


def open_rotation(app: App[object], ctx: DeviceContext, callback: Callable[[bool | None], None]) -> None:
    app.push_screen(RotationScreen(ctx), callback)


__all__ = ["RotationScreen", "open_rotation"]
