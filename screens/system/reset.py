"""Factory reset: says what is lost, offers a backup first, and goes ahead only on the full device id."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from hsmconsole.device import system as dev
from hsmconsole.errors import HsmConsoleError
from hsmconsole.system import actions
from screens.base import DeviceContext
from screens.system.common import BackupFirst, SystemBase, field

NO_BACKUP_TOOL = (
    "Make a backup first if these keys may be needed again: a backup user and the backup "
    "passphrase are needed for it."
)


class FactoryResetScreen(SystemBase):
    """Needs the open admin session; the device id must be typed in full, exactly as shown."""

    TITLE = "Factory reset"
    HEADING = "FACTORY RESET"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "backup_first", "Backup first", id="reset.backup"),
        Binding("escape", "back", "Back", id="reset.back"),
        Binding("f1", "app.help", "Help", id="reset.help"),
    ]
    MUTATIONS = frozenset({"backup_first", "back", "reset"})
    DEFAULT_CSS: ClassVar[str] = "FactoryResetScreen #reset-warning { padding: 1 1 0 1; color: $error; }"

    def __init__(self, ctx: DeviceContext, backup_first: BackupFirst | None = None) -> None:
        super().__init__(ctx)
        self.backup_first = backup_first
        self.device_id = ""
        self.backed_up = False
        self.reset_done = False

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static(actions.FACTORY_RESET_WARNING, id="reset-warning", markup=False)
        backup = (
            "Ctrl+B makes a backup first (recommended)." if self.backup_first is not None else NO_BACKUP_TOOL
        )
        yield Static(backup, id="backup-offer", classes="hint", markup=False)
        yield Static("Reading the device id ...", id="device-id", classes="section", markup=False)
        yield field("Device id, in full", "typed-id")
        yield Static("Esc goes back; nothing is erased until the id is typed and Enter pressed.",
                     id="status-line", markup=False)  # fmt: skip
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "backup_first" and self.backup_first is None:
            return False  # no backup screen is wired in: the key is not offered
        return super().check_action(action, parameters)

    def on_mount(self) -> None:
        self.query_one("#typed-id", Input).focus()
        self.read_current("Read device id", dev.read_system_info, self._identified)

    def _identified(self, info: dev.SystemInfo) -> None:
        self.device_id = info.device_id
        self.query_one("#device-id", Static).update(
            f"To erase device {info.device_id} ({self.ctx.profile.host}), type its device id:"
        )

    def action_backup_first(self) -> None:
        if self.backup_first is not None:
            self.app.push_screen(self.backup_first(self.ctx), self._backup_done)

    def _backup_done(self, made: bool | None) -> None:
        self.backed_up = bool(made)
        if made:
            self.query_one("#backup-offer", Static).update("A backup was made just now.")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value
        try:
            admin = self.admin()
            client, journal = self.ctx.client, self.ctx.journal
            # A typo never reaches the device; it is journaled as a refused reset.
            actions.refuse_reset_locally(client, admin, typed, self.device_id, journal)
        except HsmConsoleError as exc:
            event.input.value = ""
            self.status(f"{exc.title} {exc.hint}")
            self.show_error(exc)
            return
        self.status("Erasing ...")
        self.run_core("Factory reset", lambda: actions.factory_reset(client, admin, typed, journal),
                      self._reset, mutation=True)  # fmt: skip

    def _reset(self, _: None) -> None:
        self.reset_done = True
        self.ctx.sessions.close()
        self.app.notify(
            "Factory reset done. The device restarts Unprovisioned with a NEW TLS certificate: "
            "the pinned one no longer matches. Delete the profile, add the device again and compare "
            "its new fingerprint with the one on its own console.",
            severity="warning", timeout=15, markup=False,
        )
        self.dismiss(True)
