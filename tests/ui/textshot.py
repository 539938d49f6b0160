"""Helpers for Pilot tests of single screens: the app the console would be, and what a person sees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

import screens
from hsmconsole.device.profiles import ProfileStore
from screens.app import HsmConsoleApp


class Host(App[None]):
    """Shows one screen with the console's own stylesheet and theme; keeps what it dismissed with."""

    ENABLE_COMMAND_PALETTE = False
    CSS_PATH = str(Path(screens.__file__).parent / "app.tcss")

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        self.result: object = "running"

    def on_mount(self) -> None:
        self.theme = "ansi-dark"
        self.push_screen(self.make(), self._done)

    def _done(self, result: object) -> None:
        self.result = result


class Console(HsmConsoleApp):
    """The console itself (its global keys, key display and Ctrl+C), opening one screen directly."""

    CSS_PATH = str(Path(screens.__file__).parent / "app.tcss")

    def __init__(self, make: Callable[[], Screen[Any]], tmp: Path) -> None:
        super().__init__(store=ProfileStore(tmp / "config"), keyring_notice=False,
                         probe=lambda host: "")
        self.make = make
        self.result: object = "running"

    def on_mount(self) -> None:
        self.push_screen(self.make(), self._done)

    def _done(self, result: object) -> None:
        self.result = result

    def show_connections(self, *, auto: bool = False) -> None:
        """Textual also runs the app's own on_mount: it must not open the connections screen."""


def toasts(app: App[Any]) -> list[str]:
    """The text of every notification shown so far."""
    return [n.message for n in app._notifications]


def screen_text(app: App[Any]) -> str:
    """The rendered characters of the whole terminal, as a person reads them."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def type_text(pilot: Pilot[Any], text: str) -> None:
    keys = {" ": "space", ",": "comma", "-": "minus", ".": "full_stop", "/": "slash", "_": "underscore"}
    await pilot.press(*[keys.get(ch, ch) for ch in text])
