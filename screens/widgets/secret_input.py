"""SecretInput: the one text field for shares and passphrases; it never copies, cuts or selects."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

# Input's own keys minus every one that selects, copies or cuts (Textual 8 binds Ctrl+C to copy,
# Ctrl+X to cut, Shift+Home/End and Shift+arrows to select): a share selected and copied goes to
# the terminal's clipboard (tmux buffer, OSC 52 over SSH to the workstation) in plain text.
_KEPT: list[BindingType] = [
    Binding("left", "cursor_left", "Move cursor left", show=False),
    Binding("ctrl+left", "cursor_left_word", "Move cursor left a word", show=False),
    Binding("right", "cursor_right", "Move cursor right", show=False),
    Binding("ctrl+right", "cursor_right_word", "Move cursor right a word", show=False),
    Binding("backspace", "delete_left", "Delete character left", show=False),
    Binding("home,ctrl+a", "home", "Go to start", show=False),
    Binding("end,ctrl+e", "end", "Go to end", show=False),
    Binding("delete,ctrl+d", "delete_right", "Delete character right", show=False),
    Binding("enter", "submit", "Submit", show=False),
    Binding("ctrl+w", "delete_left_word", "Delete left to start of word", show=False),
    Binding("ctrl+u", "delete_left_all", "Delete all to the left", show=False),
    Binding("ctrl+k", "delete_right_all", "Delete all to the right", show=False),
]


class SecretInput(Input, inherit_bindings=False):
    """A masked field for a share, a group of one, or a passphrase.

    Nothing typed here can reach a clipboard: no selection (keys or mouse), no copy, no cut.
    Ctrl+C runs the screen's `abort` action (every screen holding one defines it: the ceremony's
    abort with its typed confirmation, the quorum's, a prompt's cancel), so it means the same
    everywhere instead of Textual's copy.
    """

    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [
        *_KEPT,
        Binding("ctrl+c", "interrupt", "Abort", show=False),
        # Swallowed, not passed on to the screen's own select-all or copy.
        Binding(
            "shift+left,shift+right,ctrl+shift+left,ctrl+shift+right,shift+home,shift+end,"
            "ctrl+shift+a,ctrl+x,super+c,super+x",
            "nothing",
            show=False,
        ),
    ]

    def __init__(self, value: str | None = None, *, password: bool = True, **kwargs: Any) -> None:
        super().__init__(value, password=password, **kwargs)

    @property
    def selected_text(self) -> str:
        return ""  # whatever the selection, nothing of the secret is handed out

    def action_copy(self) -> None:
        """Never copies (kept so no path through Input's own actions can)."""

    def action_cut(self) -> None:
        """Never cuts."""

    def action_select_all(self) -> None:
        """Never selects."""

    def action_nothing(self) -> None:
        """A selecting key: ignored."""

    async def action_interrupt(self) -> None:
        await self.run_action("screen.abort")


__all__ = ["SecretInput"]
