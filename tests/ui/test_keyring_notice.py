"""Without an OS keyring (a rescue system) the console says once that it will prompt instead."""

from __future__ import annotations

from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import ProfileStore
from screens.app import HsmConsoleApp
from screens.dashboard import DashboardScreen
from tests.ui.conftest import LockedDevice, settle


async def test_missing_keyring_is_announced_once(locked: LockedDevice, store: ProfileStore) -> None:
    vault = CredentialVault()
    vault.available = False  # what a rescue system without Secret Service looks like
    app = HsmConsoleApp(store=store, vault=vault, profile=locked.profile, emulator=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        notes = [n.message for n in app._notifications]
        assert sum("no os keyring" in m.lower() for m in notes) == 1
        # Leaving for the connection list and coming back does not repeat it.
        app._connected(locked.profile)
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert sum("no os keyring" in m.lower() for m in notes) == 1
