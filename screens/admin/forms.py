"""Small forms of the administration screens: fields in a dialog, tags by difference, text to read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


def boxed(widget: Input) -> Input:
    """A one-line field inside the dialogs' light box (3 rows, no gap): compact fields get the
    dialog border from app.tcss, which would leave them no row for the text."""
    widget.styles.height = 3
    widget.styles.margin = 0
    return widget


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    value: str = ""
    placeholder: str = ""
    password: bool = False


class FormDialog(ModalScreen[dict[str, str] | None]):
    """A few labelled one-line fields; Enter in a field moves on, Enter in the last one submits.
    Dismisses with {key: text} (stripped), or None on Esc. Not for secrets except `password` fields,
    whose values the caller must turn into a Secret at once."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="admin.form.cancel")]
    DEFAULT_CSS = """
    FormDialog #form-fields { height: auto; max-height: 15; }
    """

    def __init__(self, title: str, fields: list[Field], hint: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.fields = fields
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -prompt"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            if self.hint:
                yield Static(self.hint, classes="hint", markup=False)
            with VerticalScroll(id="form-fields"):
                for f in self.fields:
                    yield Label(f.label, markup=False)
                    yield boxed(
                        Input(
                            f.value,
                            placeholder=f.placeholder,
                            id=f"field-{f.key}",
                            password=f.password,
                            compact=True,
                        )
                    )

    def on_mount(self) -> None:
        self.query_one(f"#field-{self.fields[0].key}", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        keys = [f.key for f in self.fields]
        current = (event.input.id or "").removeprefix("field-")
        index = keys.index(current) if current in keys else len(keys) - 1
        if index < len(keys) - 1:
            self.query_one(f"#field-{keys[index + 1]}", Input).focus()
            return
        values = {k: self.query_one(f"#field-{k}", Input).value.strip() for k in keys}
        for f in self.fields:
            if f.password:
                self.query_one(f"#field-{f.key}", Input).value = ""
        self.dismiss(values)

    def action_cancel(self) -> None:
        for f in self.fields:
            if f.password:
                self.query_one(f"#field-{f.key}", Input).value = ""
        self.dismiss(None)


def tag_difference(current: tuple[str, ...], typed: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(to add, to remove) so that the tags become exactly the words typed; nothing is re-added."""
    wanted = list(dict.fromkeys(typed.replace(",", " ").split()))
    return tuple(t for t in wanted if t not in current), tuple(t for t in current if t not in wanted)


def tags_form(what: str, current: tuple[str, ...]) -> FormDialog:
    return FormDialog(
        f"Tags of {what}",
        [Field("tags", "Tags (space-separated; remove a word to remove the tag)", " ".join(current))],
        "Only the difference is sent: tags you keep are not touched.",
    )


class TextDialog(ModalScreen[None]):
    """Text to read (details, a certificate), scrollable; Esc or Enter closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="admin.text.close"),
    ]
    DEFAULT_CSS = """
    TextDialog #text-body { height: auto; max-height: 18; }
    """

    def __init__(self, title: str, body: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -prompt"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(id="text-body"):
                yield Static(self.body, markup=False, id="text-content")
            yield Static("Esc or Enter closes.", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#text-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
