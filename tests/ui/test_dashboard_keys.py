"""At 80x24 the dashboard's action list scrolls: the highlight stays in view, and help lists a key
for every section so nobody has to scroll to find one."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import OptionList

from hsmconsole.access.session import AdminSession
from hsmconsole.device.client import Credentials
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from screens.dashboard import DashboardScreen
from screens.help import HelpScreen
from tests.ui.conftest import settle
from tests.ui.test_footers import _ctx
from tests.ui.textshot import Console, screen_text


def _dashboard() -> DashboardScreen:
    ctx = _ctx(DeviceState.OPERATIONAL)
    ctx.sessions.admin = AdminSession(Credentials("admin", Secret("fake-admin-passphrase")))
    return DashboardScreen(ctx, {})


def _visible_list(text: str) -> str:
    """The lines between the action list's heading and the footer."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "What you can do" in line)
    return "\n".join(lines[start + 1 : -1])


async def test_highlight_stays_visible_while_moving(tmp_path: Path) -> None:
    app = Console(_dashboard, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        options = app.screen.query_one("#actions", OptionList)
        assert options.option_count >= 13
        seen = set()
        for key in ["down"] * (options.option_count + 2) + ["up"] * (options.option_count + 2):
            await pilot.press(key)
            await pilot.pause()
            assert options.highlighted is not None
            prompt = str(options.get_option_at_index(options.highlighted).prompt)
            seen.add(prompt)
            assert prompt.split("  (")[0] in _visible_list(screen_text(app)), prompt
        assert len(seen) > 1


async def test_help_lists_a_key_for_every_section(tmp_path: Path) -> None:
    app = Console(_dashboard, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key, what in [("U", "Users"), ("n", "Namespaces"), ("k", "Keys"), ("b", "Backups"),
                          ("y", "System"), ("o", "Credential rotation"), ("s", "Sign in"),
                          ("u", "Quorum unlock"), ("a", "Admin session")]:
            assert re.search(rf"│\s+{key}\s+{what}", text), f"{key} {what} not in help:\n{text}"
