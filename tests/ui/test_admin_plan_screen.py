"""The administration file screen through Pilot against the emulator: plan, apply with progress, re-plan."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, ProgressBar, Static

from hsmconsole.device.profiles import Profile, ProfileStore
from screens.admin.forms import FormDialog
from screens.admin.plan import PlanScreen
from screens.dialogs import AskDialog, TypedConfirm
from tests.integration.test_admin_cli import EXAMPLE
from tests.ui.conftest import settle
from tests.ui.test_admin_screens import _app, device, fill, open_section

__all__ = ["device"]  # the fixture, used by name


def body(screen: PlanScreen) -> str:
    return str(screen.query_one("#plan-body", Static).render())


async def test_plan_apply_and_plan_again_is_empty(
    device: Profile, store: ProfileStore, tmp_path: Path
) -> None:
    conf = tmp_path / "conf" / "admin.toml"
    conf.parent.mkdir()
    conf.write_text(EXAMPLE)
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "f")
        assert isinstance(app.screen, FormDialog)
        await fill(pilot, "#field-path", str(conf))
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        await settle(pilot)
        text = body(screen)
        assert "+ create namespace repo" in text and "Changes (6)" in text
        assert "Acting as admin2" in str(screen.query_one("#plan-actor", Static).render())
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AskDialog)
        app.screen.query_one("#yes", Button).press()
        await settle(pilot)
        assert app.screen is screen
        assert "Applied 6 change(s)." in body(screen)
        assert screen.query_one("#plan-progress", ProgressBar).progress == 6
        await pilot.press("r")
        await settle(pilot)
        assert "nothing to change" in body(screen)
        # Prune lists what the file leaves out (the fixture's keys and user, a stray key), typed.
        from hsmconsole.device import keys
        from hsmconsole.device.client import Credentials, DeviceClient
        from hsmconsole.inventory import KeyMechanism, KeyType
        from hsmconsole.secrets import Secret
        from tests.ui.conftest import ADMIN

        keys.generate_key(
            DeviceClient(device),
            Credentials("admin", Secret(ADMIN)),
            KeyType.CURVE25519,
            [KeyMechanism.EDDSA_SIGNATURE],
            key_id="stray",
        )
        await pilot.press("p")
        await settle(pilot)
        assert "- delete key stray" in body(screen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, TypedConfirm)
        await fill(pilot, "#confirm-word", "delete 4")
        assert "Applied 4 change(s)." in body(screen)


async def test_bad_file_shows_the_line_and_sends_nothing(
    device: Profile, store: ProfileStore, tmp_path: Path
) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text(EXAMPLE.replace('role = "Operator"', 'role = "Operater"'))
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_section(pilot, "f")
        await fill(pilot, "#field-path", str(conf))
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        await settle(pilot)
        assert f"{conf}:12: role 'Operater'" in body(screen)
        await pilot.press("a")
        await settle(pilot)
        assert app.screen is screen
