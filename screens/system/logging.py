"""Logging settings form: syslog server, port and level, checked here before anything is sent."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from hsmconsole.device import system as dev
from hsmconsole.errors import HsmConsoleError
from hsmconsole.system import actions
from hsmconsole.system.validate import logging_settings
from screens.system.common import SystemBase, field

EXPLAIN = (
    "Where the device sends its log: a syslog server's IPv4 or IPv6 address (the device takes no "
    "names; empty or 0.0.0.0: nowhere), its UDP port, and the least serious level sent: debug, "
    "info, warning or error."
)


class LoggingScreen(SystemBase):
    TITLE = "Logging"
    HEADING = "logging"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply", "Apply", id="logging.apply"),
        Binding("escape", "back", "Back", id="logging.back"),
        Binding("f1", "app.help", "Help", id="logging.help"),
    ]
    FIELDS = ("syslog-address", "syslog-port", "log-level")
    MUTATIONS = frozenset({"apply", "back"})

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static(EXPLAIN, classes="hint")
        yield field("Syslog server", "syslog-address", placeholder="e.g. 192.0.2.50 (empty: none)")
        yield field("Port", "syslog-port", placeholder="e.g. 514")
        yield field("Level", "log-level", placeholder="debug, info, warning or error")
        yield Static("Reading the current settings ...", id="status-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#syslog-address", Input).focus()
        self.read_current("Read logging", dev.read_logging, self._loaded)

    def _loaded(self, current: dev.LoggingSettings) -> None:
        values = ("" if not current.remote else current.ip_address, str(current.port), current.level.value)
        for field_id, value in zip(self.FIELDS, values, strict=True):
            self.query_one(f"#{field_id}", Input).value = value
        self.status("Ctrl+S applies; Esc goes back without changing anything.")

    def submit(self) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        try:
            settings = logging_settings(*(self.value(f) for f in self.FIELDS))
        except HsmConsoleError as exc:
            self.refuse_locally(exc)
            return
        try:
            admin = self.admin()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core("Change logging", lambda: actions.change_logging(client, admin, settings, journal),
                      lambda _: self._changed(settings), mutation=True)  # fmt: skip

    def _changed(self, settings: dev.LoggingSettings) -> None:
        self.changed = True
        where = f"{settings.ip_address} port {settings.port}" if settings.remote else "nowhere"
        self.status(f"Logging changed: {where}, level {settings.level.value}.")
        self.notify("Logging settings changed.")
