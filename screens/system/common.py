"""What the system screens share: the admin credentials of the open session, a form layout, the hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.errors import HsmConsoleError, StateError
from screens.base import CoreScreen, DeviceContext, banner

# A screen that makes a backup of the device and dismisses True once one was written. The backup
# work lives on another branch: the app passes its screen here at merge time (see docs/system.md).
BackupFirst = Callable[[DeviceContext], Screen[bool]]

R = TypeVar("R")

SESSION_CLOSED = StateError(
    "The admin session has closed.", "Open one from the dashboard (a) and come back."
)


class SystemBase(CoreScreen[bool]):
    """A system screen of one device: needs the open admin session for every device call."""

    DEFAULT_CSS: ClassVar[str] = """
    SystemBase .field { height: 1; margin: 1 1 0 1; }
    SystemBase .field Label { width: 20; }
    SystemBase .field Input { width: 1fr; }
    SystemBase #status-line { padding: 0 1; margin-top: 1; height: auto; }
    SystemBase .rows { padding: 0 1; height: auto; }
    """

    HEADING = ""
    # The form's fields in order: Enter moves to the next one, and on the last runs `submit`.
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: DeviceContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.changed = False

    def heading(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"hsmconsole: {self.ctx.profile.name}: {self.HEADING}", classes="title", markup=False)

    def admin(self) -> Credentials:
        """The session's credentials (counts as use); StateError once the session has closed."""
        session = self.ctx.sessions.admin
        if session is None or not session.open:
            raise SESSION_CLOSED
        return session.credentials()

    def read_current(
        self, label: str, read: Callable[[DeviceClient, Credentials], R], on_done: Callable[[R], None]
    ) -> None:
        """Read the device's current settings off the UI thread with the session's credentials (a
        closed session is said at once, nothing sent)."""
        try:
            admin = self.admin()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        client = self.ctx.client
        self.run_core(label, lambda: read(client, admin), on_done, mutation=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id not in self.FIELDS:
            return
        event.stop()
        index = self.FIELDS.index(event.input.id)
        if index + 1 < len(self.FIELDS):
            self.query_one(f"#{self.FIELDS[index + 1]}", Input).focus()
        else:
            self.submit()

    def submit(self) -> None:
        """What Enter on the last field does (the screen's apply)."""

    def status(self, text: str) -> None:
        """One line under the form: what happened last, in words (device text, never markup)."""
        self.query_one("#status-line", Static).update(text)

    def refuse_locally(self, exc: HsmConsoleError) -> None:
        """A value refused here, before anything was sent: said under the form (no toast over it)."""
        self.status(f"Not sent: {exc.title} {exc.hint}".strip())
        self.app.bell()

    def value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value

    def action_back(self) -> None:
        if not self.busy:
            self.dismiss(self.changed)


def field(label: str, field_id: str, value: str = "", placeholder: str = "") -> Horizontal:
    """One labelled text field on one line (a form of five fits 80x24 with its explanations)."""
    return Horizontal(
        Label(label), Input(value, placeholder=placeholder, id=field_id, compact=True), classes="field"
    )


def rows(pairs: list[tuple[str, str]]) -> str:
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in pairs)
