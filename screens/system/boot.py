"""Unattended boot: what it means for the unlock passphrase, said plainly, then switched on or off."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from hsmconsole.device import system as dev
from hsmconsole.errors import HsmConsoleError
from hsmconsole.system import actions
from screens.base import DeviceContext
from screens.dialogs import TypedConfirm
from screens.system.common import SystemBase


class BootScreen(SystemBase):
    TITLE = "Unattended boot"
    HEADING = "unattended boot"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "switch", "Switch on/off", id="boot.switch"),
        Binding("escape", "back", "Back", id="boot.back"),
        Binding("question_mark,f1", "app.help", "Help", key_display="?", id="boot.help"),
    ]
    MUTATIONS = frozenset({"switch", "back"})
    DEFAULT_CSS: ClassVar[str] = "BootScreen #boot-state { padding: 1 1; text-style: bold; }"

    def __init__(self, ctx: DeviceContext) -> None:
        super().__init__(ctx)
        self.unattended: bool | None = None

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static("Reading ...", id="boot-state", markup=False)
        yield Static(actions.UNATTENDED_WARNING, classes="hint", markup=False)
        yield Static("", id="status-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.read_current("Read boot mode", dev.read_unattended_boot, self._shown)

    def _shown(self, on: bool) -> None:
        self.unattended = on
        self.query_one("#boot-state", Static).update(
            "Unattended boot is ON: the device starts Operational on its own."
            if on else "Unattended boot is off: after a start the device waits, Locked, for a quorum "
            "to unlock it."
        )
        self.status(f"Ctrl+O switches it {'off' if on else 'on'}.")

    def action_switch(self) -> None:
        if self.unattended is None:
            return
        if self.unattended:
            self._apply(False)
            return
        confirm = TypedConfirm(
            "Switch unattended boot ON?", actions.UNATTENDED_WARNING, "unattended"
        )
        self.app.push_screen(confirm, lambda ok: self._apply(True) if ok else self.status("Not changed."))

    def _apply(self, on: bool) -> None:
        try:
            admin = self.admin()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core("Change boot mode", lambda: actions.change_unattended_boot(client, admin, on, journal),
                      lambda _: self._switched(on), mutation=True)  # fmt: skip

    def _switched(self, on: bool) -> None:
        self.changed = True
        self._shown(on)
        self.notify(f"Unattended boot is now {'ON' if on else 'off'}.", markup=False)
