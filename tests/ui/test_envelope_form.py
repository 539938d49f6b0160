"""The envelope form asks for the place each time, offering mounted removable media first."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from hsmconsole.ceremony.plan import ChallengePart
from screens.ceremony.confirm import ConfirmScreen
from tests.ui.textshot import Host, screen_text

STICK = Path("/media/alice/KEY")


def _confirm(media: list[Path]) -> ConfirmScreen:
    suggestion = media[0] / "Alice-SET.envelope" if media else None
    return ConfirmScreen("Alice", [ChallengePart(0, "UNLOCK share", 1, 2)], lambda t: [True],
                         seal=lambda p, s: p, envelope_path=suggestion, media=media)


async def _open_form(app: Host) -> Input:
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#answer-0", Input).value = "AAAAA"
        await pilot.press("enter", "s")
        await pilot.pause()
        box = app.screen.query_one("#envelope-path", Input)
        assert app.screen.focused is box  # the place is asked first, every time
        app.text = " ".join(screen_text(app).split())  # type: ignore[attr-defined]
        return box


async def test_a_mounted_stick_is_offered() -> None:
    app = Host(lambda: _confirm([STICK]))
    box = await _open_form(app)
    assert box.value == str(STICK / "Alice-SET.envelope")
    assert "Removable media mounted: /media/alice/KEY" in app.text  # type: ignore[attr-defined]


async def test_without_removable_media_nothing_is_offered_on_the_console_disk() -> None:
    app = Host(lambda: _confirm([]))
    box = await _open_form(app)
    assert box.value == ""
    assert "No removable medium is mounted" in app.text  # type: ignore[attr-defined]
