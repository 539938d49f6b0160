"""Rotate day-to-day users' passphrases: choose who and where they go; new ones shown once; failures named."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Label, Static

from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.models import UserRole
from hsmconsole.rotation.users import Delivery, Selection, UserRotationReport, rotate_users
from screens.base import CoreScreen, DeviceContext, banner
from screens.dialogs import TypedConfirm
from screens.widgets.radio import PlainRadioButton, PlainRadioSet

_WHO = ("one user", "all of a role", "all of a namespace")
_WHERE = (Delivery.SHOW, Delivery.FILES, Delivery.KEYRING)
_WHERE_LABEL = ("show once", "0600 files", "OS keyring")


class UserRotationScreen(CoreScreen[bool]):
    """Needs an admin session. Dismisses True when any passphrase changed."""

    TITLE = "Rotate user passphrases"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "go", "Rotate", key_display="Ctrl+N", id="rotation.users.go"),
        Binding("escape", "leave", "Back", key_display="Esc", id="rotation.users.back"),
        Binding("f1", "app.help", "Help", key_display="F1", id="rotation.users.help"),
    ]
    MUTATIONS = frozenset({"go", "leave"})
    DEFAULT_CSS = """
    UserRotationScreen RadioSet { margin: 0 1; height: auto; layout: horizontal; }
    UserRotationScreen Label { padding: 0 1; }
    UserRotationScreen Input { border: none; height: 1; padding: 0 1; margin: 0 1; background: $surface; }
    UserRotationScreen Input:focus { border: none; background: $primary; color: $text; text-style: bold; }
    UserRotationScreen #users-result { padding: 0 1; }
    """

    def __init__(self, ctx: DeviceContext, *, directory: Path | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.directory = directory
        self.report: UserRotationReport | None = None
        self.changed = False

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"Rotate user passphrases: {self.ctx.profile.name}", classes="title", markup=False)
        with PlainRadioSet(id="who"):
            for i, label in enumerate(_WHO):
                yield PlainRadioButton(label, value=i == 0)
        yield Label("User id, role (Operator, Metrics, Backup, Administrator) or namespace:")
        yield Input(placeholder="e.g. operator1", id="which")
        yield Label("Where the new passphrases go:")
        with PlainRadioSet(id="where"):
            for i, label in enumerate(_WHERE_LABEL):
                yield PlainRadioButton(label, value=i == 0)
        yield Label("Directory for the files (0600 files only):")
        yield Input(
            value=str(self.directory or ""), placeholder="e.g. /media/stick/passphrases", id="directory"
        )
        yield Static(
            "Keyring entries of rotated users are replaced either way. Ctrl+N rotates.", classes="hint"
        )
        yield Static("", id="users-result", markup=False)
        yield Footer()

    def _selection(self) -> Selection:
        who = max(0, self.query_one("#who", PlainRadioSet).pressed_index)
        value = self.query_one("#which", Input).value.strip()
        if who == 0:
            if not value:
                raise InputError("Type the user id.")
            return Selection(user_id=value)
        if who == 1:
            roles = {r.value.casefold(): r for r in UserRole}
            if value.casefold() not in roles:
                raise InputError(
                    f"'{value[:20]}' is not a role.", "Administrator, Operator, Metrics or Backup."
                )
            return Selection(role=roles[value.casefold()])
        return Selection(namespace=value)

    def action_go(self) -> None:
        session = self.ctx.sessions.admin
        try:
            if session is None or not session.open:
                raise InputError("This needs an admin session.", "Esc, open one (a), then come back.")
            selection = self._selection()
            delivery = _WHERE[max(0, self.query_one("#where", PlainRadioSet).pressed_index)]
            folder = self.query_one("#directory", Input).value.strip()
            if delivery is Delivery.FILES and not folder:
                raise InputError("Give a directory for the passphrase files.")
        except HsmConsoleError as err:
            self.show_error(err)
            return
        confirm = TypedConfirm(
            f"Rotate the passphrase of {selection.describe()}?",
            "Their current passphrases stop working at once; the new ones go where you chose.",
            "rotate",
        )
        directory = Path(folder) if folder else None
        self.app.push_screen(confirm, lambda ok: self._confirmed(ok, selection, delivery, directory))

    def _confirmed(
        self, ok: bool | None, selection: Selection, delivery: Delivery, directory: Path | None
    ) -> None:
        session = self.ctx.sessions.admin
        if not ok or session is None:
            return
        admin, ctx = session.credentials(), self.ctx
        self.query_one("#users-result", Static).update("Rotating ...")

        def work() -> UserRotationReport:
            return rotate_users(
                ctx.client,
                admin,
                selection,
                delivery,
                directory=directory,
                vault=ctx.vault,
                journal=ctx.journal,
                device_id=ctx.profile.name[:64],
            )

        self.run_core("Rotate user passphrases", work, self._done, mutation=True)

    def _done(self, report: UserRotationReport) -> None:
        self.report = report
        self.changed = self.changed or bool(report.rotated)
        lines = [report.summary()]
        for o in report.outcomes:
            if not o.rotated:
                lines.append(f"{o.user_id}: NOT changed: {o.error}")
            elif o.passphrase is not None:
                # Shown here once; wiped when this screen closes or the next rotation runs.
                lines.append(f"{o.user_id}: {o.passphrase.reveal_str()}  ({o.delivered_to})")
            else:
                lines.append(f"{o.user_id}: {o.delivered_to}" + (" + keyring" if o.keyring_updated else ""))
        self.query_one("#users-result", Static).update("\n".join(lines))

    def _wipe(self) -> None:
        if self.report is not None:
            for o in self.report.outcomes:
                if o.passphrase is not None:
                    o.passphrase.wipe()

    def action_leave(self) -> None:
        self._wipe()
        self.query_one("#users-result", Static).update("")
        self.dismiss(self.changed)

    def on_unmount(self) -> None:
        self._wipe()
