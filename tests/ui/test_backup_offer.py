"""After a flow changed the device, the dashboard offers a backup (Signstar's rule); not otherwise."""

from __future__ import annotations

import pytest

from hsmconsole.device import users
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.profiles import Profile, ProfileStore
from screens.backup.make import MakeBackupScreen
from screens.dashboard import DashboardScreen
from screens.dialogs import AskDialog
from tests.ui.conftest import settle
from tests.ui.test_admin_screens import (  # noqa: F401 (device is a fixture)
    OPERATOR,
    _app,
    admin_creds,
    cursor_to,
    device,
    fill,
    open_section,
)

pytestmark = pytest.mark.slow


async def test_a_change_is_followed_by_the_offer_of_a_backup(device: Profile, store: ProfileStore) -> None:  # noqa: F811
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "U")
        cursor_to(screen, OPERATOR[0])
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await fill(pilot, "#field-tags", "web ci")
        assert users.get_user(DeviceClient(device), admin_creds(), OPERATOR[0]).tags == ("ci", "web")
        await pilot.press("escape")
        await settle(pilot)
        offer = app.screen
        assert isinstance(offer, AskDialog) and "make a backup now" in offer.question
        await pilot.press("tab", "enter")  # the focus starts on "Later": Enter alone changes nothing
        await settle(pilot)
        assert isinstance(app.screen, MakeBackupScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_nothing_changed_nothing_offered(device: Profile, store: ProfileStore) -> None:  # noqa: F811
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_section(pilot, "U")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_later_leaves_the_dashboard_as_it_was(device: Profile, store: ProfileStore) -> None:  # noqa: F811
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "U")
        cursor_to(screen, OPERATOR[0])
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await fill(pilot, "#field-tags", "ci")  # op1 had "web": a change
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AskDialog)
        await pilot.press("enter")  # "Later" has the focus
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
