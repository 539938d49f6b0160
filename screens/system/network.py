"""Network settings form: checked here, confirmed, sent; says where to reconnect and can move the profile."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from hsmconsole.device import system as dev
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.errors import ConnectionFailed, HsmConsoleError
from hsmconsole.system import actions
from hsmconsole.system.actions import NetworkChange
from hsmconsole.system.validate import network_settings
from screens.base import DeviceContext
from screens.dialogs import AskDialog
from screens.system.common import SystemBase, field

EXPLAIN = (
    "IPv4 is required; the gateway must be inside the subnet (empty: none). IPv6 is optional: "
    "address/prefix, e.g. 2001:db8::10/64 (empty: off). Nothing is sent until you confirm."
)


class NetworkScreen(SystemBase):
    TITLE = "Network"
    HEADING = "network settings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply", "Apply", id="network.apply"),
        Binding("escape", "back", "Back", id="network.back"),
        Binding("f1", "app.help", "Help", id="network.help"),
    ]
    FIELDS = ("ip-address", "netmask", "gateway", "ipv6", "ipv6-gateway")
    MUTATIONS = frozenset({"apply", "back"})

    def __init__(self, ctx: DeviceContext, store: ProfileStore | None = None) -> None:
        super().__init__(ctx)
        self.store = store
        self.current: dev.NetworkSettings | None = None
        self.pending: dev.NetworkSettings | None = None

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static(EXPLAIN, classes="hint")
        yield field("IPv4 address", "ip-address", placeholder="e.g. 192.0.2.10")
        yield field("Netmask or /prefix", "netmask", placeholder="e.g. 255.255.255.0 or 24")
        yield field("Gateway", "gateway", placeholder="e.g. 192.0.2.1 (empty: none)")
        yield field("IPv6 address/prefix", "ipv6", placeholder="empty: IPv6 off")
        yield field("IPv6 gateway", "ipv6-gateway")
        yield Static("Reading the current settings ...", id="status-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ip-address", Input).focus()
        self.read_current("Read network", dev.read_network, self._loaded)

    def _loaded(self, current: dev.NetworkSettings) -> None:
        self.current = current
        v6 = current.ipv6
        values = (current.ip_address, current.netmask,
                  "" if current.gateway == dev.NO_ADDRESS else current.gateway,
                  v6.cidr if v6 else "", (v6.gateway or "") if v6 else "")  # fmt: skip
        for field_id, value in zip(self.FIELDS, values, strict=True):
            self.query_one(f"#{field_id}", Input).value = value
        self.status(f"The device's address now: {current.ip_address}. The console reaches it at "
                    f"{self.ctx.profile.host}. Ctrl+S applies.")  # fmt: skip

    def submit(self) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        try:
            settings = network_settings(*(self.value(f) for f in self.FIELDS))
        except HsmConsoleError as exc:
            self.refuse_locally(exc)
            return
        if settings == self.current:
            self.status("Nothing to change: the device has these settings already.")
            return
        self.pending = settings
        self.status("Confirm the change in the dialog.")
        moving = self.current is not None and actions.reconnect_host(
            self.ctx.profile.host, self.current.ip_address, settings.ip_address
        )
        warning = (
            f" The console reaches the device at its current address: afterwards it answers at "
            f"{moving} instead."
            if moving else ""
        )
        question = AskDialog(
            "Change the network settings?",
            f"New: {settings.ip_address} netmask {settings.netmask} gateway {settings.gateway}"
            f"{', IPv6 ' + settings.ipv6.cidr if settings.ipv6 else ''}.{warning}",
            "Change",
        )
        self.app.push_screen(question, self._confirmed)

    def _confirmed(self, ok: bool | None) -> None:
        settings = self.pending
        if not ok or settings is None:
            self.status("Not changed.")
            return
        try:
            admin = self.admin()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core("Change network", lambda: actions.change_network(client, admin, settings, journal),
                      self._changed, mutation=True, on_error=self._failed)  # fmt: skip

    def _failed(self, err: HsmConsoleError) -> None:
        self.show_error(err)
        target = None
        if self.current is not None and self.pending is not None:
            target = actions.reconnect_host(
                self.ctx.profile.host, self.current.ip_address, self.pending.ip_address
            )
        if isinstance(err, ConnectionFailed) and target:
            # The device may have moved before it answered: following it is the way to find out.
            self.status(f"No answer. If the change was made, the device now answers at {target}.")
            self._offer_move(target)
        else:
            self.status(f"Not changed: {err.title}")

    def _changed(self, change: NetworkChange) -> None:
        self.changed = True
        self.current = change.after
        if change.reconnect_to is None:
            self.status("Network settings changed.")
            self.notify("Network settings changed.")
            return
        new = change.reconnect_to
        self.status(f"Changed. The device now answers at {new}, not {self.ctx.profile.host}: "
                    f"reconnect to {new}.")  # fmt: skip
        self._offer_move(new)

    def _offer_move(self, new: str) -> None:
        ask = AskDialog(
            f"Point profile '{self.ctx.profile.name}' at {new}?",
            f"The device moved from {self.ctx.profile.host} to {new}. The profile keeps its pinned "
            "certificate; only the address changes.",
            "Update profile",
            "Leave it",
        )
        self.app.push_screen(ask, lambda ok: self._move_profile(new) if ok else None)

    def _move_profile(self, host: str) -> None:
        moved = actions.moved_profile(self.ctx.profile, host)
        if self.store is not None and moved.name in self.store.load():
            self.store.save(moved)
        self.ctx.profile = moved
        self.ctx.client = DeviceClient(moved, self.ctx.client.timeouts)
        self.status(f"Profile '{moved.name}' now points at {host}.")
        self.notify(f"Profile '{moved.name}' now points at {host}.", markup=False)
