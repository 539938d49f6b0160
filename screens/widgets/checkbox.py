"""A checkbox whose state shows in the glyph itself ([X] / [ ]), not only in colour."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class PlainCheckbox(Checkbox):
    """Textual's checkbox always draws an X and tells on from off by colour alone, which a
    16-colour or monochrome console may not show; this one draws a blank when off."""

    BUTTON_LEFT = "["
    BUTTON_RIGHT = "]"

    def render(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super().render()
