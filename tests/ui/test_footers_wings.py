"""Every full screen of the admin, backup, rotation and system wings, and the dashboard in each
device state, keeps its whole footer inside 80 columns with Ctrl+Q on it (against the emulator)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from hsmconsole.access.session import AdminSession
from hsmconsole.custody.shares import SecretKind
from hsmconsole.device.client import Credentials
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.journal.chain import Journal
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from screens.admin.keys import KeysScreen
from screens.admin.namespaces import NamespacesScreen
from screens.admin.users import UsersScreen
from screens.backup.inspect import InspectBackupScreen
from screens.backup.make import MakeBackupScreen
from screens.backup.menu import BackupMenuScreen
from screens.backup.rehearse import RehearseScreen
from screens.backup.rehearse_quorum import RehearseQuorumScreen
from screens.backup.restore import RestoreScreen
from screens.base import DeviceContext, Sessions
from screens.dashboard import DashboardScreen
from screens.rotation.current import CurrentQuorumScreen
from screens.rotation.menu import RotationMenu
from screens.rotation.steps import RotationHandoff
from screens.rotation.target import TargetScreen
from screens.rotation.tls import TlsRotationScreen
from screens.rotation.users import UserRotationScreen
from screens.system.boot import BootScreen
from screens.system.clock import ClockScreen
from screens.system.logging import LoggingScreen
from screens.system.metrics import MetricsScreen
from screens.system.network import NetworkScreen
from screens.system.overview import SystemScreen
from screens.system.reset import FactoryResetScreen
from screens.system.tls import TlsScreen
from screens.system.update import UpdateScreen
from tests.ui.conftest import ADMIN, LockedDevice, settle
from tests.ui.test_footers import WIDTH
from tests.ui.test_footers import _ctx as fake_ctx
from tests.ui.textshot import Console

pytestmark = pytest.mark.slow  # one emulator per case

Make = Callable[[DeviceContext, Path], Screen[Any]]
HEADER = "Rotation"
SCREENS: dict[str, Make] = {
    "admin users": lambda c, t: UsersScreen(c),
    "admin namespaces": lambda c, t: NamespacesScreen(c),
    "admin keys": lambda c, t: KeysScreen(c),
    "backup menu": lambda c, t: BackupMenuScreen(c),
    "backup make": lambda c, t: MakeBackupScreen(c),
    "backup inspect": lambda c, t: InspectBackupScreen(c),
    "backup rehearse": lambda c, t: RehearseScreen(c),
    "backup rehearse quorum": lambda c, t: RehearseQuorumScreen(
        c, t / "b.bin", Secret("backup-passphrase"), None),
    "backup restore": lambda c, t: RestoreScreen(c),
    "rotation menu": lambda c, t: RotationMenu(header=HEADER),
    "rotation target": lambda c, t: TargetScreen(has_admin_session=True, header=HEADER),
    "rotation current quorum": lambda c, t: CurrentQuorumScreen(c, SecretKind.UNLOCK, lambda s: None),
    "rotation handoff": lambda c, t: RotationHandoff("Alice", 1, 3, header=HEADER),
    "rotation tls": lambda c, t: TlsRotationScreen(c),
    "rotation users": lambda c, t: UserRotationScreen(c, directory=t),
    "system overview": lambda c, t: SystemScreen(c),
    "system boot": lambda c, t: BootScreen(c),
    "system clock": lambda c, t: ClockScreen(c),
    "system logging": lambda c, t: LoggingScreen(c),
    "system metrics": lambda c, t: MetricsScreen(c),
    "system network": lambda c, t: NetworkScreen(c),
    "system reset": lambda c, t: FactoryResetScreen(c),
    "system tls": lambda c, t: TlsScreen(c),
    "system update": lambda c, t: UpdateScreen(c),
}


def footer_fits(screen: Screen[Any]) -> None:
    keys = list(screen.query_one(Footer).query(FooterKey))
    assert keys, "a full screen has a footer with its keys"
    shown = "  ".join(f"{k.key_display} {k.description}" for k in keys)
    assert max(k.virtual_region.right for k in keys) <= WIDTH, f"cut at {WIDTH}: {shown}"
    # Ctrl+Q is how a person leaves; it must not be the key that falls off the end.
    assert any(k.key_display == "Ctrl+Q" for k in keys), shown


@pytest.mark.parametrize("case", sorted(SCREENS))
async def test_wing_footer_fits_80_columns(case: str, unlocked: LockedDevice, tmp_path: Path) -> None:
    sessions = Sessions()
    sessions.admin = AdminSession(Credentials("admin", Secret(ADMIN)))
    ctx = DeviceContext(unlocked.profile, unlocked.client(), CredentialVault(),
                        Journal(tmp_path / "journal.jsonl"), True, sessions)
    make = SCREENS[case]
    app = Console(lambda: make(ctx, tmp_path), tmp_path)
    async with app.run_test(size=(WIDTH, 24)) as pilot:
        await settle(pilot)
        made = type(make(ctx, tmp_path))
        assert any(isinstance(s, made) for s in app.screen_stack), app.screen_stack
        # The screen and whatever full screen it opened on its own.
        for screen in app.screen_stack[1:]:
            if screen.query(Footer):
                footer_fits(screen)


@pytest.mark.parametrize("state", list(DeviceState), ids=lambda s: s.value)
async def test_dashboard_footer_fits_in_every_state(state: DeviceState, tmp_path: Path) -> None:
    app = Console(lambda: DashboardScreen(fake_ctx(state), {}), tmp_path)
    async with app.run_test(size=(WIDTH, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        footer_fits(app.screen)
