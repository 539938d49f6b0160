"""80x24 snapshots of the system screens with fixed fake data (no real clock, port or fingerprint)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from hsmconsole.access.session import AdminSession
from hsmconsole.device import system as dev
from hsmconsole.device.client import Credentials
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from hsmconsole.system import actions
from screens.app import HsmConsoleApp
from screens.base import DeviceContext
from screens.system.boot import BootScreen
from screens.system.clock import ClockScreen
from screens.system.logging import LoggingScreen
from screens.system.network import NetworkScreen
from screens.system.overview import SystemScreen
from screens.system.reset import FactoryResetScreen
from screens.system.tls import TlsScreen
from screens.system.update import UpdateScreen
from tests.snapshots.test_console_snapshots import FP, PINNED, _app
from tests.ui.conftest import settle

NOW = datetime(2026, 12, 6, 18, 30, 0, tzinfo=UTC)
DEVICE_TIME = datetime(2026, 12, 6, 18, 26, 48, tzinfo=UTC)  # 3 min 12 s behind
INFO = dev.SystemInfo("Nitrokey GmbH", "NetHSM", "3.1", "v3.1-snap", "2.0", "1.0", "SNAPDEV042")
NETWORK = dev.NetworkSettings("192.0.2.10", "255.255.255.0", "192.0.2.1", dev.Ipv6Settings("2001:db8::10/64"))
LOGGING = dev.LoggingSettings("192.0.2.50", 514, dev.LogLevel.WARNING)
CERT = dev.TlsCertificate(
    "CN=keyfender", "CN=keyfender", datetime(2025, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC),
    FP, True, "",
)


@pytest.fixture(autouse=True)
def fixed_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every device read answers fixed values: behaviour is tested against the emulator elsewhere."""
    overview = actions.Overview(
        INFO, DeviceState.OPERATIONAL, DEVICE_TIME, NOW, NETWORK, LOGGING, False, CERT
    )
    monkeypatch.setattr(actions, "read_overview", lambda client, admin: overview)
    monkeypatch.setattr(dev, "read_system_info", lambda client, admin: INFO)
    monkeypatch.setattr(dev, "read_time", lambda client, admin: DEVICE_TIME)
    monkeypatch.setattr(dev, "read_network", lambda client, admin: NETWORK)
    monkeypatch.setattr(dev, "read_logging", lambda client, admin: LOGGING)
    monkeypatch.setattr(dev, "read_unattended_boot", lambda client, admin: False)
    monkeypatch.setattr(dev, "read_tls_certificate", lambda client, admin: CERT)


def _over_system(make: Callable[[DeviceContext], Screen[Any]]) -> Any:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, HsmConsoleApp) and app.context is not None
        app.context.sessions.admin = AdminSession(Credentials("admin", Secret("fake-for-snapshots")))
        app.push_screen(make(app.context))
        await settle(pilot)

    return run


def _snap(snap_compare: Any, tmp_path: Path, make: Callable[[DeviceContext], Screen[Any]]) -> bool:
    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    return bool(snap_compare(app, terminal_size=(80, 24), run_before=_over_system(make)))


def test_system_overview(snap_compare: Any, tmp_path: Path) -> None:
    assert _snap(snap_compare, tmp_path, lambda ctx: SystemScreen(ctx, clock=lambda: NOW))


def test_system_network(snap_compare: Any, tmp_path: Path) -> None:
    assert _snap(snap_compare, tmp_path, lambda ctx: NetworkScreen(ctx))


def test_system_network_refused(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _over_system(lambda ctx: NetworkScreen(ctx))(pilot)
        pilot.app.screen.query_one("#netmask", Input).value = "255.0.255.0"
        await pilot.press("ctrl+s")
        await settle(pilot)

    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_system_clock(snap_compare: Any, tmp_path: Path) -> None:
    assert _snap(snap_compare, tmp_path, lambda ctx: ClockScreen(ctx, clock=lambda: NOW))


def test_system_logging(snap_compare: Any, tmp_path: Path) -> None:
    assert _snap(snap_compare, tmp_path, lambda ctx: LoggingScreen(ctx))


def test_system_boot(snap_compare: Any, tmp_path: Path) -> None:
    assert _snap(snap_compare, tmp_path, lambda ctx: BootScreen(ctx))


def test_system_tls(snap_compare: Any, tmp_path: Path) -> None:
    assert _snap(snap_compare, tmp_path, lambda ctx: TlsScreen(ctx))


def test_system_update_notes(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _over_system(lambda ctx: UpdateScreen(ctx))(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, UpdateScreen)
        screen.query_one("#image-file", Input).value = "/media/usb/nethsm-3.2.img"
        screen.query_one("#upload-progress").display = True
        screen._show_progress(1_048_576, 1_048_576)
        screen._uploaded("Release 3.2\n- faster RSA signing\n- the clock keeps time across reboots")
        await pilot.pause()

    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_system_factory_reset(snap_compare: Any, tmp_path: Path) -> None:
    assert _snap(snap_compare, tmp_path, lambda ctx: FactoryResetScreen(ctx))
