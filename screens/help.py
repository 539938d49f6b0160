"""Help: the keys of the screen underneath, taken from its live bindings, plus how to move around."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.keys import format_key, key_to_character
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static, TextArea

GENERAL = (
    "Tab / Shift+Tab move between fields and buttons; arrow keys move in lists; Enter chooses. "
    "Everything works from the keyboard; no mouse is needed. Destructive actions ask you to "
    "type a word to confirm."
)


_NAMED = {"escape": "Esc", "enter": "Enter", "tab": "Tab", "space": "Space", "backspace": "Backspace",
          "delete": "Del", "up": "↑", "down": "↓", "left": "←", "right": "→", "question_mark": "?"}


def key_display(key: str) -> str:
    """'ctrl+q' -> 'Ctrl+Q', 'f1' -> 'F1', 'escape' -> 'Esc'; a letter stays the letter to press."""
    *mods, name = key.split("+")
    if re.fullmatch(r"f\d{1,2}", name):
        shown = name.upper()
    elif name in _NAMED:
        shown = _NAMED[name]
    elif len(name) == 1:
        shown = name.upper() if mods else name
    else:
        shown = format_key(name)
    return "+".join([*(m.capitalize() for m in mods), shown])


def typing_into(widget: Widget | None) -> bool:
    """True when the focused widget takes printable keys as text (so "?" types a question mark)."""
    return isinstance(widget, Input | TextArea)


def screen_name(screen: Screen[Any]) -> str:
    """What the help is for: the screen's own title, else a dialog's title line as the person
    reads it ("Lock the device?"), else its class name in words (never the app's)."""
    if screen.TITLE:
        return screen.TITLE
    for title in screen.query(".dialog-title"):
        text = str(getattr(title, "content", "")).strip()
        if text:
            return text
    name = re.sub(r"(Screen|Dialog)$", "", type(screen).__name__) or type(screen).__name__
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", name)
    return " ".join(words).capitalize() if words else name


def help_rows(app: App[Any], screen: Screen[Any]) -> list[tuple[str, str]]:
    """The keys that work on `screen` right now. Where a text field has the focus, keys that would
    type into it are left out (for "?, F1" only F1 remains), and no key display hides that."""
    typing = typing_into(screen.focused)
    rows = []
    for key, active in screen.active_bindings.items():
        binding = active.binding
        # Ours all carry an id; Textual's built-ins (Tab, copy) are explained in general terms.
        if not binding.id or not (active.node is screen or active.node is app):
            continue
        char = key_to_character(key)
        if typing and not binding.priority and char is not None and char.isprintable():
            continue  # this key would type into the focused field
        shown = replace(binding, key_display=None) if typing else binding
        rows.append((app.get_key_display(shown), binding.description))
    described = {description for _, description in rows}
    for key, description in getattr(screen, "HELP_EXTRA", ()):
        if description not in described:
            rows.insert(0, (key, description))
    # A dialog hides the app's bindings from active_bindings, but its priority ones (F1, Ctrl+Q)
    # still work there.
    for binding in Binding.make_bindings(app.BINDINGS):
        if binding.priority and binding.key not in screen.active_bindings:
            rows.append((app.get_key_display(binding), binding.description))
    return rows


def key_rows(screen_bindings: list[tuple[str, str]]) -> str:
    """Two aligned columns, one action per line: keys doing the same thing share a line ("? / F1")."""
    keys_for: dict[str, list[str]] = {}
    for key, description in screen_bindings:
        if description and key not in keys_for.setdefault(description, []):
            keys_for[description].append(key)
    return "\n".join(f"  {' / '.join(keys):<14} {description}" for description, keys in keys_for.items())


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
