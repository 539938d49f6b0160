"""A custodian re-types one group of each share and passphrase from paper; then may seal the shares."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, Static

from hsmconsole.ceremony.plan import ChallengePart
from hsmconsole.custody.envelope import MIN_PASSPHRASE
from hsmconsole.errors import HsmConsoleError
from hsmconsole.secrets import Secret
from screens.ceremony.step import COMMON_BINDINGS, CeremonyStep, StepEnd
from screens.widgets.secret_input import SecretInput

_ORDINAL = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", 6: "6th"}


def describe_part(part: ChallengePart) -> str:
    """Where one asked group is on the custodian's paper, e.g. 'UNLOCK share, line 3, 2nd group'."""
    return f"{part.what}, line {part.line}, {_ORDINAL.get(part.column, str(part.column))} group"


class ConfirmState(enum.Enum):
    ASKING = "asking"
    CONFIRMED = "confirmed"
    SEALING = "sealing"  # the envelope form is open
    SEALED = "sealed"


class ConfirmScreen(CeremonyStep):
    """`check` answers whether the typed groups match; `seal` writes an envelope (blocking)."""

    STEP_TITLE = "confirm your shares"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "look_again", "Look again", key_display="F2", id="ceremony.confirm.look"),
        Binding("s", "open_seal", "Seal to a file", id="ceremony.confirm.seal"),
        Binding("enter", "finish", "Finish my turn", key_display="Enter", id="ceremony.confirm.finish"),
        Binding(
            "escape", "close_seal", "Close the form",
            key_display="Esc", id="ceremony.confirm.close_seal",
        ),
        *COMMON_BINDINGS,
    ]
    DEFAULT_CSS = """
    ConfirmScreen #confirm-question { padding: 1 1 0 1; text-style: bold; }
    ConfirmScreen #ask { height: auto; }
    ConfirmScreen .part { height: 1; }
    ConfirmScreen .part Label { width: 48; padding: 0 1 0 3; }
    ConfirmScreen .part Input { width: 14; }
    ConfirmScreen #ask.-done { display: none; }
    ConfirmScreen #seal-form { height: auto; display: none; }
    ConfirmScreen #seal-form.-open { display: block; }
    ConfirmScreen Label { padding: 0 1; }
    """

    def __init__(
        self,
        custodian: str,
        parts: Sequence[ChallengePart],
        check: Callable[[list[str]], Sequence[bool]],
        *,
        seal: Callable[[Path, Secret], Path] | None = None,
        envelope_path: Path | None = None,
        header: str = "Provisioning ceremony",
        warning: str = "",
        media: Sequence[Path] = (),
    ) -> None:
        super().__init__(header=header, warning=warning, secrets_exist=True)
        self.custodian = custodian
        self.asked = list(parts)
        self.parts = [describe_part(p) for p in parts]  # where each group is on paper, as asked
        self.check = check
        self.seal = seal
        self.envelope_path = envelope_path  # a suggestion only: the custodian confirms or types one
        self.media = list(media)  # mounted removable media (fileio.removable_media), offered first
        self.state = ConfirmState.ASKING
        self.wrong = 0
        self.sealed_to: Path | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(
            f"{self.custodian}: the screen no longer shows your shares. Show that you have them "
            "on paper.",
            markup=False,
            classes="c-text",
        )
        with Vertical(id="ask"):
            one = "this group" if len(self.parts) == 1 else f"these {len(self.parts)} groups"
            yield Static(f"From your paper, type {one}:", id="confirm-question", markup=False)
            for i, (where, part) in enumerate(zip(self.parts, self.asked, strict=True)):
                with Horizontal(classes="part"):
                    yield Label(where, markup=False)
                    yield SecretInput(id=f"answer-{i}", placeholder="_" * part.length)
            yield Static(
                "Case does not matter, nor O for 0 or I, L for 1; characters are hidden. Enter goes "
                "to the next group, and "
                "checks them all in the last one.",
                classes="c-hint",
            )
        yield Static("", id="confirm-status", markup=False, classes="c-text")
        with Vertical(id="seal-form"):
            yield Static(
                "Seal everything you were shown (shares and passphrases) into an envelope file, "
                f"encrypted under a passphrase of your own (at least {MIN_PASSPHRASE} characters). "
                "Keep it apart from your paper copy.",
                classes="c-text",
            )
            yield Static(self._where_text(), id="seal-where", markup=False, classes="c-hint")
            yield Label("File (on removable media)")
            yield Input(str(self.envelope_path or ""), id="envelope-path")
            yield Label("Envelope passphrase")
            yield SecretInput(id="envelope-pass")
            yield Label("The same passphrase again")
            yield SecretInput(id="envelope-pass2")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#answer-0", Input).focus()

    def _where_text(self) -> str:
        if self.media:
            shown = ", ".join(str(m) for m in self.media[:3])
            return f"Removable media mounted: {shown}. Check the file's place, or type another."
        return ("No removable medium is mounted (under /media, /run/media or /mnt): plug one in, "
                "mount it and type the file's path there, not on this console's disk.")

    def _answers(self) -> list[Input]:
        return [self.query_one(f"#answer-{i}", Input) for i in range(len(self.parts))]

    def _status(self, text: str, style: str = "c-text") -> None:
        status = self.query_one("#confirm-status", Static)
        status.set_classes(style)
        status.update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = {
            "look_again": self.state is ConfirmState.ASKING,
            "open_seal": self.state is ConfirmState.CONFIRMED and self.seal is not None,
            "finish": self.state in (ConfirmState.CONFIRMED, ConfirmState.SEALED),
            "close_seal": self.state is ConfirmState.SEALING,
        }
        if action in allowed:
            if not allowed[action]:
                return False  # not at this stage: hidden from the footer
            return None if self.busy else True
        if action == "abort" and self.state is ConfirmState.SEALING:
            return False  # Escape closes the envelope form instead
        return super().check_action(action, parameters)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box_id = event.input.id or ""
        if box_id.startswith("answer-"):
            boxes = self._answers()
            after = int(box_id.removeprefix("answer-")) + 1
            if after < len(boxes):
                boxes[after].focus()
            else:
                self._answer(boxes)
        elif event.input.id == "envelope-path":
            self.query_one("#envelope-pass", Input).focus()
        elif event.input.id == "envelope-pass":
            self.query_one("#envelope-pass2", Input).focus()
        else:
            self._seal()

    def _answer(self, boxes: list[Input]) -> None:
        results = list(self.check([box.value for box in boxes]))
        if all(results):
            self.state = ConfirmState.CONFIRMED
            for box in boxes:
                box.value = ""
                box.disabled = True
            self.query_one("#ask").add_class("-done")
            self.set_focus(None)
            more = " Press s to also seal them into an envelope file, or" if self.seal else ""
            self._status(f"Confirmed: your copy matches.{more} Enter to finish your turn.", "c-ok")
        else:
            self.wrong += 1
            wrong = [where for where, ok in zip(self.parts, results, strict=True) if not ok]
            for box, ok in zip(boxes, results, strict=True):
                if not ok:
                    box.value = ""
            boxes[results.index(False)].focus()
            self._status(
                f"Does not match (attempt {self.wrong}): {'; '.join(wrong)}. Compare that line "
                "of your paper with care and type the group again, or press F2 to look at your "
                "shares once more.",
                "c-error",
            )
        self.refresh_bindings()

    def action_look_again(self) -> None:
        self.dismiss(StepEnd.LOOK_AGAIN)

    def action_open_seal(self) -> None:
        self.state = ConfirmState.SEALING
        self.query_one("#seal-form").add_class("-open")
        self._status("Enter in the last field seals; Esc closes this form without sealing.")
        # The place is asked each time, starting at the file: a stick may have changed hands.
        where = self.query_one("#envelope-path", Input)
        where.focus()
        where.cursor_position = len(where.value)
        self.refresh_bindings()

    def _close_seal_form(self, message: str) -> None:
        for box_id in ("#envelope-pass", "#envelope-pass2"):
            self.query_one(box_id, Input).value = ""
        self.query_one("#seal-form").remove_class("-open")
        self.set_focus(None)
        self._status(message, "c-ok")
        self.refresh_bindings()

    def action_close_seal(self) -> None:
        if self.state is ConfirmState.SEALING and not self.busy:
            self.state = ConfirmState.CONFIRMED
            self._close_seal_form("Not sealed. Press s to seal, or Enter to finish your turn.")

    def _seal(self) -> None:
        if self.seal is None or self.busy:
            return
        seal = self.seal
        path_text = self.query_one("#envelope-path", Input).value.strip()
        first = self.query_one("#envelope-pass", Input)
        second = self.query_one("#envelope-pass2", Input)
        if not path_text:
            self._status("Give the file to write the envelope to.", "c-error")
            return
        if len(first.value) < MIN_PASSPHRASE:
            self._status(f"The passphrase needs at least {MIN_PASSPHRASE} characters.", "c-error")
            first.focus()
            return
        if first.value != second.value:
            second.value = ""
            self._status("The two passphrases differ. Type the second one again.", "c-error")
            second.focus()
            return
        secret = Secret(first.value, label="envelope passphrase")
        first.value = second.value = ""
        path = Path(path_text).expanduser()
        self._status("Sealing (this takes a few seconds) ...")

        def work() -> Path:
            try:
                return seal(path, secret)
            finally:
                secret.wipe()

        self.run_core("Seal envelope", work, self._sealed, mutation=True, on_error=self._seal_failed)

    def _sealed(self, path: Path) -> None:
        self.sealed_to = path
        self.state = ConfirmState.SEALED
        self._close_seal_form(f"Sealed to {path}. Enter finishes your turn.")

    def _seal_failed(self, err: HsmConsoleError) -> None:
        self._status(f"Not sealed: {err.title} {err.hint}".strip(), "c-error")
        self.query_one("#envelope-pass", Input).focus()

    def action_finish(self) -> None:
        if self.state in (ConfirmState.CONFIRMED, ConfirmState.SEALED):
            self.dismiss(StepEnd.DONE)
