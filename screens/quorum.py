"""Shared quorum entry: custodians type their shares one by one into a masked input, each checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from hsmconsole.custody.quorum import ShareCollector, group_offset
from hsmconsole.custody.sharecode import ShareFormatError
from hsmconsole.custody.shares import SecretKind, SetRef
from hsmconsole.errors import HsmConsoleError
from hsmconsole.rotation.record import void_check
from hsmconsole.secrets import Secret
from screens.base import CoreScreen, DeviceContext, banner
from screens.rotation.journal import device_id, journal_for


class QuorumScreen(CoreScreen[bool]):
    """Collects a quorum of shares of one secret kind; subclasses say what to do with it (finish).

    Dismisses True when the device changed (so the dashboard refreshes), False when cancelled.
    Nothing is sent to the device before the collector has refused or accepted every share.
    """

    KIND: ClassVar[SecretKind] = SecretKind.UNLOCK
    TITLE_TEXT: ClassVar[str] = ""
    DONE_PROMPT: ClassVar[str] = "Quorum reached: press Enter to go ahead, Esc to cancel."
    FINISH_LABEL: ClassVar[str] = "Go ahead"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "finish", "Go ahead", key_display="Enter", id="quorum.finish"),
        Binding("ctrl+r", "reveal", "Show/hide", key_display="Ctrl+R", id="quorum.reveal"),
        Binding("ctrl+l", "clear", "Clear", key_display="Ctrl+L", id="quorum.clear"),
        Binding("escape", "cancel", "Cancel", key_display="Esc", id="quorum.cancel"),
        Binding("f1", "app.help", "Help", key_display="F1", id="quorum.help"),
    ]
    MUTATIONS = frozenset({"finish", "cancel"})

    def __init__(self, ctx: DeviceContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.collector = ShareCollector(self.KIND)
        self._accepted: list[str] = []

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"{self.TITLE_TEXT}: {self.ctx.profile.name}", classes="title", markup=False)
        yield Static(self.instructions(), classes="hint", markup=False)
        yield Static(self._prompt(), id="share-label", markup=False)
        yield Input(password=True, id="share", placeholder="HSMC1 ....")
        yield Static(self._progress_text(), id="progress-text", markup=False)
        yield Static("", id="accepted", markup=False)
        yield Static("", id="share-error", markup=False, classes="error-text")
        yield Footer()

    def instructions(self) -> str:
        return (
            f"Each custodian in turn types their share of the {self.KIND.value} passphrase, "
            "groups separated by spaces, and presses Enter. Characters are hidden; each share is "
            "checked at once. Nothing is sent to the device until enough shares fit together."
        )

    def on_mount(self) -> None:
        self.query_one("#share", Input).focus()
        # Shares a rotation voided (per the journal) are refused as they are typed; the journal is
        # read off the UI thread (a long one takes a second or more).
        ctx = self.ctx
        journal = journal_for(ctx, None) if ctx.journal is not None or ctx.emulator else None
        if journal is not None:
            self.run_core("Read the journal", lambda: void_check(journal, device_id(ctx)), self._set_void,
                          mutation=False, on_error=lambda err: None)

    def _set_void(self, judge: Callable[[SetRef], str | None] | None) -> None:
        self.collector.void = judge

    def _progress_text(self) -> str:
        progress = self.collector.progress()
        if progress.needed is None:
            return "Progress: no share entered yet (the first share tells how many are needed)."
        # ASCII on purpose: the Linux console font lacks most block glyphs.
        bar = "#" * progress.entered + "." * max(0, progress.needed - progress.entered)
        return f"Progress: [{bar}] {progress.describe()}"

    def _prompt(self) -> str:
        return f"Share of custodian {len(self._accepted) + 1}:"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "finish" and not self.collector.progress().complete:
            return None
        return super().check_action(action, parameters)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.busy:
            return
        box = event.input
        text = Secret(event.value, label="share text")
        source = f"custodian {len(self._accepted) + 1}"
        error = self.query_one("#share-error", Static)
        try:
            share = self.collector.add(text, source=source)
        except ShareFormatError as err:
            # A typo: keep the text (still hidden) so one wrong character costs one correction,
            # not retyping the whole share; the cursor goes to the group the check located.
            where = ""
            if err.group:
                box.cursor_position = group_offset(event.value, err.group)
                if f"group {err.group}" not in err.title:
                    where = f" Look at group {err.group}."
            shown = "hidden (Ctrl+R shows it)" if box.password else "SHOWN (Ctrl+R hides it)"
            # Kept text is this custodian's share: they clear it before handing the keyboard on.
            error.update(
                f"Refused: {err.title}.{where}\n{err.hint} Your text is kept for correcting, "
                f"{shown}, cursor at that group; Ctrl+L clears it before you hand over."
            )
            return
        except HsmConsoleError as err:
            box.value = ""  # a whole other share is needed: its characters are no use here
            error.update(f"Refused: {err.title}.\n{err.hint}")
            return
        finally:
            text.wipe()
        box.value = ""  # an accepted share never stays in the widget
        box.password = True  # and the next custodian starts hidden, whatever this one chose
        error.update("")
        self._accepted.append(f"{source}: {share.name.split(' (')[0]}, check {share.fingerprint}")
        self._update_progress()

    def _update_progress(self) -> None:
        progress = self.collector.progress()
        self.query_one("#progress-text", Static).update(self._progress_text())
        self.query_one("#accepted", Static).update("\n".join(self._accepted))
        share_input = self.query_one("#share", Input)
        if progress.complete:
            share_input.disabled = True
            self.set_focus(None)
            self.query_one("#share-label", Static).update(self.DONE_PROMPT)
        else:
            self.query_one("#share-label", Static).update(self._prompt())
        self.refresh_bindings()

    def action_reveal(self) -> None:
        # For the custodian at the keyboard to find a typo the check located; off by default.
        share_input = self.query_one("#share", Input)
        share_input.password = not share_input.password

    def action_clear(self) -> None:
        """Wipe a kept (refused) share from the field, hidden again, for the next custodian."""
        box = self.query_one("#share", Input)
        box.value = ""
        box.password = True
        self.query_one("#share-error", Static).update("")
        box.focus()

    def action_finish(self) -> None:
        if not self.collector.progress().complete:
            return
        self.query_one("#share-label", Static).update("Combining and checking the shares ...")
        self.run_core(self.TITLE_TEXT, self.finish_call(), self._finished, mutation=True,
                      on_error=self._failed)

    def finish_call(self) -> Callable[[], Any]:
        """The core call (no arguments) that uses self.collector; returns what finished() takes."""
        raise NotImplementedError

    def finished(self, result: Any) -> None:
        """On the UI thread, after the core call succeeded."""
        self.dismiss(True)

    def _finished(self, result: Any) -> None:
        self.finished(result)

    def _failed(self, err: HsmConsoleError) -> None:
        # combine() wiped the shares whatever happened: the quorum starts again.
        self.collector.wipe()
        self._accepted.clear()
        self.query_one("#share", Input).disabled = False
        self._update_progress()
        self.query_one("#share-error", Static).update(f"Refused: {err.title}\n{err.hint}")
        self.show_error(err)
        self.query_one("#share", Input).focus()

    def action_cancel(self) -> None:
        self.collector.wipe()
        self.dismiss(False)

    def on_unmount(self) -> None:
        self.collector.wipe()
