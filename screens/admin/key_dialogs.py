"""Key dialogs: generate (only what the device accepts), mechanisms for an import, a stored certificate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, SelectionList, Static

from hsmconsole.errors import HsmConsoleError
from hsmconsole.inventory import KEY_KINDS, KeyKind, KeyMechanism, KeyType, check_generate, check_id
from screens.admin.forms import boxed
from screens.widgets.selection import PlainSelectionList


@dataclass(frozen=True)
class KeyRequest:
    """What the generate dialog gathered, already checked against what the device accepts."""

    type: KeyType
    mechanisms: tuple[KeyMechanism, ...]
    length: int | None
    key_id: str
    tags: tuple[str, ...]


def default_mechanisms(kind: KeyKind) -> tuple[KeyMechanism, ...]:
    """Pre-selected: every mechanism of a curve or AES; PSS-SHA256 signing for RSA."""
    if kind.type is KeyType.RSA:
        return (KeyMechanism.RSA_SIGNATURE_PSS_SHA256,)
    return kind.mechanisms


def mechanism_list(kind: KeyKind, chosen: tuple[KeyMechanism, ...] = ()) -> PlainSelectionList:
    picked = set(chosen or default_mechanisms(kind))
    return PlainSelectionList(
        *((m.value, m.value, m in picked) for m in kind.mechanisms), id="key-mechs", compact=True
    )


def length_options(kind: KeyKind) -> tuple[list[tuple[str, int]], int]:
    """The lengths offered for a type (0: the type fixes it) and the pre-selected one."""
    if kind.lengths:
        return [(f"Length: {n} bits", n) for n in kind.lengths], kind.lengths[0]
    return [(f"Length: {kind.fixed_bits} bits (set by the curve)", 0)], 0


def _fill(widget: SelectionList[str], kind: KeyKind) -> None:
    widget.clear_options()
    picked = set(default_mechanisms(kind))
    widget.add_options([(m.value, m.value, m in picked) for m in kind.mechanisms])
    show_first_selected(widget)


def show_first_selected(widget: SelectionList[str]) -> None:
    """Highlight (and so scroll to) the first chosen mechanism: RSA has 15, the list shows 4."""
    chosen = set(widget.selected)
    for index in range(widget.option_count):
        if widget.get_option_at_index(index).value in chosen:
            widget.highlighted = index
            return


KEYGEN_HELP = "Tab: next field. Space: toggle. Enter in Tags: generate. Esc: cancel."


class GenerateKeyDialog(ModalScreen[KeyRequest | None]):
    """Type, length and mechanisms come from `inventory.KEY_KINDS`: nothing else is offered.
    Space toggles a mechanism; Enter in the tags field generates."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="admin.keygen.cancel")]
    DEFAULT_CSS = """
    GenerateKeyDialog #key-mechs { height: 6; }
    """

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")
        self.kind = KEY_KINDS[KeyType.CURVE25519]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -prompt"):
            yield Label("Generate a key", classes="dialog-title")
            yield Select(
                [(f"Type: {k.title}", k.type.value) for k in KEY_KINDS.values()],
                value=self.kind.type.value,
                allow_blank=False,
                id="key-type",
                compact=True,
            )
            options, value = length_options(self.kind)
            yield Select(options, value=value, allow_blank=False, id="key-length", compact=True)
            yield Label("Mechanisms (Space toggles)")
            yield mechanism_list(self.kind)
            yield Label("Key id (empty: the device chooses one)")
            yield boxed(Input(id="key-id", compact=True, placeholder="e.g. repo-signing"))
            yield Label("Tags (space-separated; operators need one of them to use the key)")
            yield boxed(Input(id="key-tags", compact=True))
            yield Static(KEYGEN_HELP, id="keygen-status", markup=False, classes="hint")

    def on_mount(self) -> None:
        self.query_one("#key-type", Select).focus()
        show_first_selected(self.query_one("#key-mechs", SelectionList))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "key-type" or event.value is Select.BLANK:
            return
        self.kind = KEY_KINDS[KeyType(str(event.value))]
        lengths = self.query_one("#key-length", Select)
        options, value = length_options(self.kind)
        lengths.set_options(options)
        lengths.value = value
        _fill(self.query_one("#key-mechs", SelectionList), self.kind)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "key-id":
            self.query_one("#key-tags", Input).focus()
            return
        mechs = tuple(KeyMechanism(v) for v in self.query_one("#key-mechs", SelectionList).selected)
        length_value = self.query_one("#key-length", Select).value
        length = int(length_value) if isinstance(length_value, int) and length_value else None
        key_id = self.query_one("#key-id", Input).value.strip()
        tags = tuple(self.query_one("#key-tags", Input).value.replace(",", " ").split())
        try:
            check_generate(self.kind.type, mechs, length)
            if key_id:
                check_id(key_id, "Key id")
            for tag in tags:
                check_id(tag, "Tag")
        except HsmConsoleError as err:
            self.query_one("#keygen-status", Static).update(f"{err.title} {err.hint}".strip())
            return
        self.dismiss(KeyRequest(self.kind.type, mechs, length, key_id, tags))

    def action_cancel(self) -> None:
        self.dismiss(None)


class MechanismPicker(ModalScreen[tuple[KeyMechanism, ...] | None]):
    """Mechanisms for an imported key of a known type (the device does not check them on import)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "done", "Import", priority=True, id="admin.mechs.done"),
        Binding("escape", "cancel", "Cancel", id="admin.mechs.cancel"),
    ]

    def __init__(self, description: str, kind: KeyKind) -> None:
        super().__init__(classes="dialog-screen")
        self.description = description
        self.kind = kind

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -prompt"):
            yield Label(f"Import: {self.description}", classes="dialog-title", markup=False)
            yield Label("Mechanisms (Space toggles, Enter imports)")
            yield mechanism_list(self.kind)
            yield Static("", id="mechs-status", markup=False)

    def on_mount(self) -> None:
        self.query_one("#key-mechs", SelectionList).focus()

    def action_done(self) -> None:
        mechs = tuple(KeyMechanism(v) for v in self.query_one("#key-mechs", SelectionList).selected)
        try:
            check_generate(self.kind.type, mechs, None)
        except HsmConsoleError as err:
            self.query_one("#mechs-status", Static).update(f"{err.title} {err.hint}".strip())
            return
        self.dismiss(mechs)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CertificateDialog(ModalScreen[str]):
    """The key's stored certificate (or that there is none): u uploads one, Delete removes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "choose('upload')", "Upload", id="admin.cert.upload"),
        Binding("delete,d", "choose('delete')", "Delete", id="admin.cert.delete"),
        Binding("escape", "choose('')", "Close", id="admin.cert.close"),
    ]

    def __init__(self, key_id: str, description: str | None) -> None:
        super().__init__(classes="dialog-screen")
        self.key_id = key_id
        self.description = description

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -prompt"):
            yield Label(f"Certificate of key {self.key_id}", classes="dialog-title", markup=False)
            if self.description is None:
                yield Static("No certificate is stored with this key.", markup=False)
                yield Static("u uploads one (PEM or DER file); Esc closes.", classes="hint")
            else:
                yield Static(self.description, markup=False, id="cert-text")
                yield Static("d deletes it (to replace it, delete then upload); Esc closes.", classes="hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose" and parameters:
            if parameters[0] == "upload" and self.description is not None:
                return False
            if parameters[0] == "delete" and self.description is None:
                return False
        return True

    def action_choose(self, what: str) -> None:
        self.dismiss(what)
