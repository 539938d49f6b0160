"""A typed admin passphrase opens a session and is never offered to the OS keyring, even when one exists."""

from __future__ import annotations

import pytest

from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import ProfileStore
from screens.admin_session import AdminSessionScreen
from screens.app import HsmConsoleApp
from screens.dashboard import DashboardScreen
from screens.dialogs import PassphrasePrompt
from tests.keyrings import MemoryKeyring, installed
from tests.ui.conftest import ADMIN, LockedDevice, settle


@pytest.mark.slow
async def test_typed_admin_passphrase_never_reaches_the_keyring(
    unlocked: LockedDevice, store: ProfileStore
) -> None:
    backend = MemoryKeyring()
    with installed(backend):
        vault = CredentialVault()
        assert vault.available
        app = HsmConsoleApp(store=store, vault=vault, profile=unlocked.profile, emulator=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, AdminSessionScreen)
            await pilot.press("ctrl+p")
            await settle(pilot)
            assert isinstance(app.screen, PassphrasePrompt)
            assert not app.screen.query("#remember")
            await pilot.press(*ADMIN, "enter")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
            session = app.context.sessions.admin if app.context else None
            assert session is not None and session.open
    assert backend.items == {}
