"""Help and key displays: named for the screen, one key style, no key listed that would type into a field."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Static

from hsmconsole.device.profiles import ProfileStore
from screens.app import HsmConsoleApp
from screens.dashboard import DashboardScreen
from screens.dialogs import PassphrasePrompt
from screens.help import HelpScreen, typing_into
from tests.ui.conftest import LockedDevice, settle


def _title(app: HsmConsoleApp) -> str:
    return str(app.screen.query_one(".dialog-title", Static).render())


async def test_help_names_its_screen_and_lists_only_working_keys(
    locked: LockedDevice, store: ProfileStore
) -> None:
    app = HsmConsoleApp(store=store, profile=locked.profile, emulator=True, keyring_notice=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert _title(app) == "Keys: Dashboard"
        keys = dict(app.screen.rows)
        assert keys["?"] == "Help" and keys["Ctrl+Q"] == "Quit"
        await pilot.press("escape")
        await pilot.pause()

        # In a passphrase field "?" is a character of the passphrase: only F1 opens the help.
        app.push_screen(PassphrasePrompt("Administrator passphrase"))
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, PassphrasePrompt)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "hsmconsole" not in _title(app)
        assert _title(app) == "Keys: Administrator passphrase"  # a dialog is named by its title line
        shown = [key for key, _ in app.screen.rows]
        assert "F1" in shown and "?" not in shown
        assert "Esc" in shown


def test_key_displays_share_one_style() -> None:
    app = HsmConsoleApp(store=ProfileStore())
    shown = {
        key: app.get_key_display(Binding(key, "x", "X"))
        for key in ("f1", "escape", "enter", "ctrl+q", "r")
    }
    assert shown == {"f1": "F1", "escape": "Esc", "enter": "Enter", "ctrl+q": "Ctrl+Q", "r": "r"}
    assert app.get_key_display(Binding("f2", "x", "X", key_display="F2")) == "F2"


async def test_help_over_a_share_field_offers_f1_not_question_mark(
    locked: LockedDevice, store: ProfileStore
) -> None:
    app = HsmConsoleApp(store=store, profile=locked.profile, emulator=True, keyring_notice=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        screen = app.screen
        assert typing_into(screen.focused)
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is screen  # "?" went into the field
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = [key for key, _ in app.screen.rows]
        assert "F1" in shown and "?" not in shown
        assert all(len(key) > 1 for key in shown)  # no single printable key: it would be typed
