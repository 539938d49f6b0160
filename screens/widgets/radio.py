"""Radio buttons whose choice shows in the glyph itself ((*) / ( )), in a set without block borders."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import RadioButton, RadioSet


class PlainRadioButton(RadioButton):
    """Textual draws every radio button with the same dot and tells the chosen one by colour alone,
    which a 16-colour or monochrome console may not show; this one draws a blank when off."""

    BUTTON_LEFT = "("
    BUTTON_RIGHT = ")"

    def render(self) -> Content:
        self.BUTTON_INNER = "*" if self.value else " "
        return super().render()


class PlainRadioSet(RadioSet):
    """A RadioSet drawn with line characters the Linux console font has (no tall block border)."""

    DEFAULT_CSS = """
    PlainRadioSet { border: solid $foreground 50%; }
    PlainRadioSet:focus { border: solid $primary; }
    PlainRadioSet > PlainRadioButton { border: none; padding: 0 1; }
    PlainRadioSet > PlainRadioButton.-selected { text-style: reverse; }
    """
