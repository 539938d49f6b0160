"""A selection list whose state shows in the glyph ([X] / [ ]), not only in colour."""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import SelectionList
from textual.widgets.option_list import OptionDoesNotExist


class PlainSelectionList(SelectionList[str]):
    """Textual draws the same X for chosen and not chosen items and tells them apart by colour,
    which a 16-colour or monochrome console may not show; this one draws [X] or [ ]."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if len(segments) < 4:
            return strip
        mark = "X" if selection.value in self._selected else " "
        style = segments[3].style
        return Strip([Segment("[", style), Segment(mark, style), Segment("]", style), *segments[3:]])
