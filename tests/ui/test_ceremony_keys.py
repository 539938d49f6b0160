"""Ctrl+C in the ceremony says what it does at each step, in the ceremony's words, never Textual's."""

from __future__ import annotations

from pathlib import Path

from screens.ceremony.progress import ProvisioningScreen
from screens.ceremony.roster import RosterScreen
from screens.dialogs import TypedConfirm
from tests.ui.textshot import Console, screen_text, toasts

STEPS = ["Provision", "Pin TLS", "Check"]


async def test_ctrl_c_while_provisioning_runs_says_it_cannot_be_stopped(tmp_path: Path) -> None:
    app = Console(lambda: ProvisioningScreen(STEPS, "lab-hsm", None), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, ProvisioningScreen)
        screen.show_running(1)
        await pilot.press("ctrl+c")
        await pilot.pause()
        said = "\n".join(toasts(app))
        assert "cannot be stopped once it has begun" in said
        assert "Do you want to quit" not in said and "ctrl+q" not in said.casefold()
        assert app.screen is screen  # nothing was interrupted


async def test_ctrl_c_before_provisioning_starts_asks_for_the_typed_abort(tmp_path: Path) -> None:
    app = Console(lambda: ProvisioningScreen(STEPS, "lab-hsm", None), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm) and app.screen.word == "abort"


async def test_ctrl_c_in_a_roster_field_aborts_too(tmp_path: Path) -> None:
    app = Console(RosterScreen, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("A", "l", "shift+home", "ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm) and app.screen.word == "abort"
        assert app.clipboard == ""


async def test_an_abort_asked_during_the_check_closes_when_provisioning_begins(tmp_path: Path) -> None:
    app = Console(lambda: ProvisioningScreen(STEPS, "lab-hsm", None), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, ProvisioningScreen)
        screen.show_checking()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)  # nothing sent yet: the abort may be asked
        screen.show_running(0)  # the device answered: the first step is on its way
        await pilot.pause()
        assert app.screen is screen  # the confirmation saying "nothing was sent" is gone
        assert "Too late to abort" in screen_text(app)
