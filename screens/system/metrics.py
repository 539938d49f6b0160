"""Device metrics, read with the passphrase of a user with the Metrics role (an admin may not)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from hsmconsole.device import system as dev
from hsmconsole.device.client import Credentials
from screens.dialogs import PassphraseAnswer, PassphrasePrompt
from screens.system.common import SystemBase, rows


class MetricsScreen(SystemBase):
    TITLE = "Metrics"
    HEADING = "metrics"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+p", "ask", "Metrics user", id="metrics.user"),
        Binding("r", "refresh", "Refresh", id="metrics.refresh"),
        Binding("escape", "back", "Back", id="metrics.back"),
        Binding("question_mark,f1", "app.help", "Help", key_display="?", id="metrics.help"),
    ]
    DEFAULT_CSS: ClassVar[str] = "MetricsScreen #metrics-box { height: 1fr; margin: 1 1 0 1; }"

    creds: Credentials | None = None

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static("Only a user with the Metrics role may read them: Ctrl+P asks for one.", classes="hint")
        with VerticalScroll(id="metrics-box"):
            yield Static("", id="metrics", markup=False)
        yield Static("", id="status-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.action_ask()

    def action_ask(self) -> None:
        user = self.ctx.profile.users[0] if self.ctx.profile.users else "metrics"
        prompt = PassphrasePrompt("Metrics user", user_id=user, vault=self.ctx.vault,
                                  allow_remember=False)  # fmt: skip
        self.app.push_screen(prompt, self._answered)

    def _answered(self, answer: PassphraseAnswer | None) -> None:
        if answer is None:
            return
        if self.creds is not None:
            self.creds.passphrase.wipe()
        self.creds = answer.credentials
        self.action_refresh()

    def action_refresh(self) -> None:
        creds = self.creds
        if creds is None:
            return
        client = self.ctx.client
        self.run_core("Read metrics", lambda: dev.read_metrics(client, creds), self._shown, mutation=False)

    def _shown(self, metrics: tuple[dev.Metric, ...]) -> None:
        self.query_one("#metrics", Static).update(rows([(m.name, m.value) for m in metrics]))
        self.status(f"{len(metrics)} values, read as {self.creds.user_id if self.creds else '?'}.")

    def on_unmount(self) -> None:
        if self.creds is not None:
            self.creds.passphrase.wipe()  # the Metrics passphrase lives only while this screen does
