"""Help: the keys of the screen underneath, taken from its live bindings, plus how to move around."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

GENERAL = (
    "Tab / Shift+Tab move between fields and buttons; arrow keys move in lists; Enter chooses. "
    "Everything works from the keyboard; no mouse is needed. Destructive actions ask you to "
    "type a word to confirm."
)


def key_rows(screen_bindings: list[tuple[str, str]]) -> str:
    """Two aligned columns, one key per line, without duplicates."""
    seen: set[tuple[str, str]] = set()
    lines = []
    for key, description in screen_bindings:
        if (key, description) in seen or not description:
            continue
        seen.add((key, description))
        lines.append(f"  {key:<14} {description}")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """Lists the keys given to it (attributes down); Esc or q closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog -help"):
            yield Static(f"Keys: {self.title_text}", classes="dialog-title", markup=False)
            yield Static(key_rows(self.rows), markup=False, id="keys")
            yield Static(GENERAL, classes="hint")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
