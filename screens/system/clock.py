"""Device clock: shown beside this computer's with the drift; set from this computer or typed in UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from hsmconsole.device import system as dev
from hsmconsole.errors import HsmConsoleError
from hsmconsole.system import actions
from hsmconsole.system.validate import describe_drift, drift_seconds, parse_utc_time
from screens.base import DeviceContext
from screens.system.common import SystemBase, field, rows

EXPLAIN = (
    "The device keeps UTC. A wrong clock makes certificates look not yet valid or expired and "
    "puts wrong times in its logs. Ctrl+N sets it from this computer's clock (check that one "
    "first); or type a UTC time and press Enter."
)


class ClockScreen(SystemBase):
    TITLE = "Clock"
    HEADING = "device clock"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "set_now", "Set from here", id="clock.now"),
        Binding("ctrl+s", "set_typed", "Set typed", id="clock.typed"),
        Binding("escape", "back", "Back", id="clock.back"),
        Binding("f1", "app.help", "Help", id="clock.help"),
    ]
    MUTATIONS = frozenset({"set_now", "set_typed", "back"})

    def __init__(self, ctx: DeviceContext, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """`clock` is this computer's clock (fixed in snapshots)."""
        super().__init__(ctx)
        self.clock = clock
        self.read_at: tuple[datetime, datetime] | None = None  # (device, local) when read

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static(EXPLAIN, classes="hint")
        yield Static("Reading the device clock ...", id="clocks", classes="rows", markup=False)
        yield field("UTC time to set", "typed", placeholder="e.g. 2026-12-06T18:30:00Z")
        yield Static("", id="status-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#typed", Input).focus()
        self.read()
        self.set_interval(1.0, self._tick)

    def read(self) -> None:
        try:
            admin = self.admin()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        client = self.ctx.client

        clock = self.clock

        def call() -> tuple[datetime, datetime]:
            before = clock()
            device = dev.read_time(client, admin)
            return device, before + (clock() - before) / 2

        self.run_core("Read clock", call, self._read, mutation=False)

    def _read(self, pair: tuple[datetime, datetime]) -> None:
        self.read_at = pair
        self._tick()

    def _tick(self) -> None:
        if self.read_at is None:
            return
        device, local = self.read_at
        now = self.clock()
        shown = device + (now - local)
        self.query_one("#clocks", Static).update(rows([
            ("Device clock", f"{shown:%Y-%m-%d %H:%M:%S}Z"),
            ("This computer", f"{now:%Y-%m-%d %H:%M:%S}Z"),
            ("Drift", describe_drift(drift_seconds(device, local))),
        ]))  # fmt: skip

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_set_typed()

    def action_set_typed(self) -> None:
        try:
            when = parse_utc_time(self.value("typed"))
        except HsmConsoleError as exc:
            self.refuse_locally(exc)
            return
        self._set(when)

    def action_set_now(self) -> None:
        self._set(None)

    def _set(self, when: datetime | None) -> None:
        try:
            admin = self.admin()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core("Set clock", lambda: actions.change_time(client, admin, when, journal),
                      self._was_set, mutation=True)  # fmt: skip

    def _was_set(self, moment: datetime) -> None:
        self.changed = True
        self.read_at = (moment, self.clock())
        self.status(f"Device clock set to {moment:%Y-%m-%d %H:%M:%S}Z.")
        self.read()
