"""Shared screen behaviour: the device context, core calls in thread workers, errors to toasts/modals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from hsmconsole.access.session import DEFAULT_IDLE_TIMEOUT, AdminSession
from hsmconsole.admin.actor import Actor
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile
from hsmconsole.errors import DeviceError, ErrorKind, HsmConsoleError
from hsmconsole.journal.chain import Journal

R = TypeVar("R")
T = TypeVar("T")


@dataclass
class Sessions:
    """The open admin session, if any. Mutable on purpose: shared by the screens of one device."""

    admin: AdminSession | None = None
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    # An Administrator user (root or ns~user) signed in for the administration screens.
    administrator: Actor | None = None

    def expire_idle(self) -> bool:
        """Drop a session that has gone idle; True if one was just closed."""
        if self.administrator is not None and not self.administrator.open:
            self.administrator = None
        if self.admin is not None and not self.admin.open:
            self.admin = None
            return True
        return False

    def close(self) -> None:
        if self.admin is not None:
            self.admin.wipe()
        self.admin = None
        if self.administrator is not None:
            self.administrator.session.wipe()
        self.administrator = None


@dataclass
class DeviceContext:
    """What every device screen gets from the app (attributes down): no globals."""

    profile: Profile
    client: DeviceClient
    vault: CredentialVault
    journal: Journal | None = None
    emulator: bool = False
    sessions: Sessions = field(default_factory=Sessions)


def banner_text(profile: Profile, emulator: bool) -> str:
    """The persistent warning for this connection, or "" when there is nothing to warn about."""
    if profile.insecure and not profile.pinned:
        return (
            f"TLS VERIFICATION IS OFF for profile '{profile.name}': anyone on the network path "
            "can pose as this device."
        )
    if emulator:
        return "EMULATOR: the built-in emulator, not a real NetHSM. Its state ends on exit."
    return ""


def banner(profile: Profile, emulator: bool) -> ComposeResult:
    """Yield the warning banner widget when the connection deserves one."""
    text = banner_text(profile, emulator)
    if text:
        classes = "banner -insecure" if profile.insecure and not profile.pinned else "banner -emulator"
        yield Static(text, markup=False, classes=classes, id="banner")


def as_console_error(exc: BaseException | None) -> HsmConsoleError:
    if isinstance(exc, HsmConsoleError):
        return exc
    # Never show str(exc) of an unknown exception: it could quote anything, a secret included.
    name = exc.__class__.__name__ if exc is not None else "unknown"
    return DeviceError(f"Unexpected error ({name}).", "This is a bug; nothing secret was shown.")


class CoreScreen(Screen[T]):
    """A screen that runs core calls in thread workers and renders their typed result or error.

    Workers never touch widgets: their result reaches the callbacks here, on the UI thread,
    through Worker.StateChanged. While a mutation runs, the actions in MUTATIONS are disabled.
    """

    MUTATIONS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self._pending: dict[Worker[Any], tuple[Callable[[Any], None], Callable[[HsmConsoleError], None]]] = {}
        self._mutating = 0

    @property
    def busy(self) -> bool:
        return self._mutating > 0

    def run_core(
        self,
        label: str,
        call: Callable[[], R],
        on_done: Callable[[R], None],
        *,
        mutation: bool,
        on_error: Callable[[HsmConsoleError], None] | None = None,
    ) -> Worker[R]:
        """Run one blocking core call off the UI thread. Reads are exclusive (latest wins)."""
        worker: Worker[R] = self.run_worker(
            call,
            name=label,
            group="mutation" if mutation else f"read:{label}",
            thread=True,
            exit_on_error=False,
            exclusive=not mutation,
        )
        self._pending[worker] = (on_done, on_error or self.show_error)
        if mutation:
            self._mutating += 1
            self.refresh_bindings()
        return worker

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker not in self._pending or event.state not in (
            WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED
        ):
            return
        on_done, on_error = self._pending.pop(worker)
        if worker.group == "mutation":
            self._mutating -= 1
            self.refresh_bindings()
        if event.state is WorkerState.SUCCESS:
            on_done(worker.result)
        elif event.state is WorkerState.ERROR:
            on_error(as_console_error(worker.error))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MUTATIONS and self.busy:
            return None  # shown dimmed while the device is busy
        return True

    def show_error(self, err: HsmConsoleError) -> None:
        """Wrong input or state: a toast. Anything the person must read and act on: a modal."""
        if err.kind in (ErrorKind.INPUT, ErrorKind.STATE):
            text = f"{err.title}\n{err.hint}" if err.hint else err.title
            self.notify(text, severity="warning", markup=False, timeout=8)
            return
        from screens.dialogs import ErrorDialog

        self.app.push_screen(ErrorDialog(err))


def quit_refusal(app: App[Any]) -> str | None:
    """Why the app must not quit now, asked of every screen in the stack, or None.

    A ceremony holding secrets must be aborted on purpose (typed confirmation, journal entry), and
    provisioning must not be cut off midway; such screens define `quit_refusal() -> str | None`.
    """
    for screen in reversed(app.screen_stack):
        refusal = getattr(screen, "quit_refusal", None)
        reason = refusal() if callable(refusal) else None
        if isinstance(reason, str) and reason:
            return reason
    return None
