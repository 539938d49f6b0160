"""System screen: info, state, the device clock beside this computer's with the drift, and what to change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from hsmconsole.device.profiles import ProfileStore
from hsmconsole.device.system import NO_ADDRESS
from hsmconsole.errors import HsmConsoleError
from hsmconsole.system import actions
from hsmconsole.system.actions import Overview
from hsmconsole.system.validate import WORRYING, describe_drift, drift_seconds, netmask_prefix
from screens.base import DeviceContext
from screens.dialogs import TypedConfirm
from screens.system.common import BackupFirst, SystemBase, rows

CHOICES: tuple[tuple[str, str], ...] = (
    ("network", "Network settings (address, netmask, gateway, IPv6)"),
    ("time", "Device clock"),
    ("logging", "Logging (syslog server, port, level)"),
    ("boot", "Unattended boot"),
    ("tls", "TLS certificate and CSR"),
    ("update", "System update"),
    ("metrics", "Metrics (needs a Metrics user)"),
    ("reboot", "Reboot"),
    ("shutdown", "Shut down"),
    ("reset", "Factory reset"),
)


def clock_line(ov: Overview, now: datetime) -> str:
    """Device clock (advanced since it was read) beside this computer's, and the drift in words."""
    device = ov.device_time + (now - ov.local_time)
    drift = drift_seconds(ov.device_time, ov.local_time)
    warn = ": SET IT" if abs(drift) > WORRYING else ""
    return (f"device {device:%Y-%m-%d %H:%M:%S}Z, here {now:%H:%M:%S}Z, "
            f"{describe_drift(drift, short=True)}{warn}")  # fmt: skip


def overview_rows(ov: Overview, now: datetime) -> str:
    i, n, lg = ov.info, ov.network, ov.logging
    prefix = netmask_prefix(n.netmask)
    net = f"{n.ip_address}/{prefix}, gateway {'none' if n.gateway == NO_ADDRESS else n.gateway}"
    net += f", IPv6 {n.ipv6.cidr}" if n.ipv6 else ", IPv6 off"
    syslog = f"{lg.ip_address} port {lg.port}" if lg.remote else "no remote syslog"
    pin = {True: "matches the pin", False: "DOES NOT match the pin", None: "nothing pinned"}
    return rows([
        ("Device", f"{i.vendor} {i.product}, device id {i.device_id or '-'}"),
        ("State", ov.state.value),
        ("Software", f"{i.software_version} ({i.software_build}), firmware {i.firmware_version}, "
                     f"hardware {i.hardware_version}"),
        ("Clock", clock_line(ov, now)),
        ("Network", net),
        ("Logging", f"{syslog}, level {lg.level.value}"),
        ("Boot", "UNATTENDED: starts Operational without the unlock passphrase"
         if ov.unattended_boot else "waits Locked for the unlock passphrase"),
        ("TLS", f"{ov.tls.subject}, until {ov.tls.not_after:%Y-%m-%d}, {pin[ov.tls.matches_pin]}"),
    ])  # fmt: skip


class SystemScreen(SystemBase):
    """The device's own settings and life. Needs the open admin session (the dashboard offers it
    only then). `backup_first` is handed to the factory reset screen (see common.BackupFirst)."""

    TITLE = "System"
    HEADING = "system settings and maintenance"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "run_selected", "Open", id="system.open"),
        Binding("r", "refresh", "Refresh", id="system.refresh"),
        Binding("escape", "back", "Back", id="system.back"),
        Binding("question_mark,f1", "app.help", "Help", key_display="?", id="system.help"),
    ]
    MUTATIONS = frozenset({"run_selected", "back"})
    DEFAULT_CSS: ClassVar[str] = """
    SystemScreen #overview { padding: 1 1 0 1; height: auto; }
    SystemScreen #choices { height: 1fr; margin: 0 1; }
    """

    def __init__(
        self,
        ctx: DeviceContext,
        store: ProfileStore | None = None,
        backup_first: BackupFirst | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`clock` is this computer's clock (fixed in snapshots)."""
        super().__init__(ctx)
        self.clock = clock
        self.store = store
        self.backup_first = backup_first
        self.overview: Overview | None = None
        self.child: Screen[bool] | None = None

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static("Reading the device ...", id="overview", markup=False)
        yield OptionList(*(Option(label, id=key) for key, label in CHOICES), id="choices", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#choices", OptionList).highlighted = 0
        self.query_one("#choices", OptionList).focus()
        self.action_refresh()
        self.set_interval(1.0, self._tick)

    def on_screen_resume(self) -> None:
        session = self.ctx.sessions.admin
        # A reboot, reset or installed update closed the session: _returned goes back instead.
        # While a change runs (a reboot just confirmed), a read would race it and fail on the
        # rebooting device, putting an error over this screen as it leaves.
        if self._mutating:
            return
        if self.overview is not None and session is not None and session.open:
            self.action_refresh()

    def action_refresh(self) -> None:
        try:
            admin = self.admin()
        except HsmConsoleError as exc:  # the session closed: say so instead of reading
            self.show_error(exc)
            return
        client = self.ctx.client
        self.run_core("Read system", lambda: actions.read_overview(client, admin), self._loaded,
                      mutation=False)  # fmt: skip

    def _loaded(self, ov: Overview) -> None:
        self.overview = ov
        self._tick()

    def _tick(self) -> None:
        if self.overview is not None:
            self.query_one("#overview", Static).update(overview_rows(self.overview, self.clock()))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.open(event.option.id)

    def action_run_selected(self) -> None:
        options = self.query_one("#choices", OptionList)
        if options.highlighted is not None:
            option_id = options.get_option_at_index(options.highlighted).id
            if option_id:
                self.open(option_id)

    def open(self, choice: str) -> None:
        if self.ctx.sessions.admin is None or not self.ctx.sessions.admin.open:
            self.notify("The admin session has closed: open one from the dashboard.", severity="warning")
            return
        if choice in ("reboot", "shutdown"):
            self._confirm_power(choice)
            return
        screen = self._screen_for(choice)
        self.child = screen
        self.app.push_screen(screen, self._returned)

    def _screen_for(self, choice: str) -> Screen[bool]:
        from screens.system.boot import BootScreen
        from screens.system.clock import ClockScreen
        from screens.system.logging import LoggingScreen
        from screens.system.metrics import MetricsScreen
        from screens.system.network import NetworkScreen
        from screens.system.reset import FactoryResetScreen
        from screens.system.tls import TlsScreen
        from screens.system.update import UpdateScreen

        ctx = self.ctx
        factories: dict[str, Callable[[], Screen[bool]]] = {
            "network": lambda: NetworkScreen(ctx, self.store),
            "time": lambda: ClockScreen(ctx, self.clock),
            "logging": lambda: LoggingScreen(ctx),
            "boot": lambda: BootScreen(ctx),
            "tls": lambda: TlsScreen(ctx),
            "update": lambda: UpdateScreen(ctx),
            "metrics": lambda: MetricsScreen(ctx),
            "reset": lambda: FactoryResetScreen(ctx, self.backup_first),
        }
        return factories[choice]()

    def _returned(self, changed: bool | None) -> None:
        if changed:
            self.changed = True
        session = self.ctx.sessions.admin
        if session is None or not session.open:
            self.dismiss(True)  # a reset or shutdown ends the session: back to the dashboard
            if getattr(self.child, "reset_done", False):
                # The device now presents a new certificate that nobody has compared yet: the
                # connections screen is where it is confirmed, not a dashboard crying "mismatch".
                self.app.call_later(self._leave_device)
            return
        self.action_refresh()

    def _leave_device(self) -> None:
        from screens.dashboard import DashboardScreen

        if isinstance(self.app.screen, DashboardScreen):
            self.app.screen.dismiss("connections")

    def _confirm_power(self, choice: str) -> None:
        if choice == "reboot":
            confirm = TypedConfirm(
                "Reboot the device?",
                "It restarts and comes back Locked (Operational only with unattended boot on): keys "
                "are unusable until a quorum unlocks it. The admin session is closed.",
                "reboot",
            )
        else:
            confirm = TypedConfirm(
                "Shut the device down?",
                "It powers off and stays off until someone switches it on at the device itself. "
                "The admin session is closed.",
                "shutdown",
            )
        self.app.push_screen(confirm, lambda ok: self._power(choice) if ok else None)

    def _power(self, choice: str) -> None:
        admin, client, journal = self.admin(), self.ctx.client, self.ctx.journal
        step = actions.reboot if choice == "reboot" else actions.shutdown
        self.run_core(choice, lambda: step(client, admin, journal), lambda _: self._powered(choice),
                      mutation=True)  # fmt: skip

    def _powered(self, choice: str) -> None:
        self.ctx.sessions.close()  # the device forgets nothing, but we walk away from it
        word = "is rebooting" if choice == "reboot" else "is shutting down"
        self.app.notify(f"The device {word}; the admin session was closed.", markup=False)
        self.dismiss(True)
