"""A small form screen for the backup flows: labelled fields, Enter runs, the result below."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from hsmconsole.errors import HsmConsoleError
from hsmconsole.secrets import Secret
from screens.base import CoreScreen, DeviceContext, banner
from screens.widgets.secret_input import SecretInput


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    secret: bool = False  # typed hidden, read into a Secret, cleared from the widget at once
    value: str = ""
    placeholder: str = ""


class BackupForm(CoreScreen[bool]):
    """Enter in a field moves to the next; Enter in the last runs `start()`. Esc goes back.
    Secret fields are emptied as soon as they are read, whatever happens next."""

    TITLE_TEXT: ClassVar[str] = ""
    EXPLAIN: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[Field, ...]] = ()
    PROGRESS: ClassVar[bool] = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="backup.back"),
        Binding("ctrl+r", "run", "Run", id="backup.run"),
    ]
    MUTATIONS = frozenset({"run", "back"})

    def __init__(self, ctx: DeviceContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.changed = False

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"hsmconsole: {self.TITLE_TEXT}", classes="title", markup=False)
        yield Static(self.EXPLAIN, classes="hint", markup=False)
        with VerticalScroll(id="form"):
            for f in self.FIELDS:
                yield Label(f.label, markup=False)
                if f.secret:  # never copied, cut or selected (no way to a clipboard)
                    yield SecretInput(placeholder=f.placeholder, id=f"f-{f.id}", compact=True)
                else:
                    yield Input(value=f.value, placeholder=f.placeholder, id=f"f-{f.id}", compact=True)
            if self.PROGRESS:
                yield ProgressBar(id="progress", show_eta=False)
            yield Static("", id="result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def text(self, field_id: str) -> str:
        return self.query_one(f"#f-{field_id}", Input).value.strip()

    def secret(self, field_id: str, label: str) -> Secret | None:
        widget = self.query_one(f"#f-{field_id}", Input)
        value, widget.value = widget.value, ""
        return Secret(value, label) if value else None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
        else:
            self.action_run()

    def action_run(self) -> None:
        if self.busy:
            return
        try:
            call = self.start()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        if call is None:  # the form handed over to another screen
            return
        self.say("Working...")
        self.run_core(self.TITLE_TEXT, call, self._done, mutation=True, on_error=self._failed)

    def say(self, text: str) -> None:
        self.query_one("#result", Static).update(text)

    def progress_from_worker(self) -> Callable[[int, int | None], None]:
        """A progress callback for a worker thread: updates reach the bar on the UI thread."""
        bar = self.query_one("#progress", ProgressBar)

        def update(done: int, total: int | None) -> None:
            self.app.call_from_thread(bar.update, total=total, progress=done)

        return update

    def _done(self, result: Any) -> None:
        self.say(self.describe(result))

    def _failed(self, err: HsmConsoleError) -> None:
        self.say(f"{err.title}\n{err.hint}".strip())
        self.show_error(err)

    def action_back(self) -> None:
        self.dismiss(self.changed)

    def action_abort(self) -> None:
        """Ctrl+C in a secret field (SecretInput): empty the secret fields, nothing else."""
        for f in self.FIELDS:
            if f.secret:
                self.query_one(f"#f-{f.id}", Input).value = ""

    # --- for subclasses ---------------------------------------------------------------------------
    def start(self) -> Callable[[], Any] | None:
        """Read the fields (raising InputError for a missing one) and return the blocking call,
        or None when the form continues on another screen."""
        raise NotImplementedError

    def describe(self, result: Any) -> str:
        return str(result)
