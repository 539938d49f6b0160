"""One custodian, alone at the screen, sees their shares and user passphrases, one page each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from hsmconsole.ceremony.plan import Turn, paper_rows
from hsmconsole.secrets import Secret
from screens.ceremony.step import COMMON_BINDINGS, CeremonyStep, StepEnd


@dataclass(frozen=True, eq=False)
class RevealPage:
    """What one page shows. `text` is the share text (lines of five-character groups) or a passphrase."""

    title: str
    facts: str
    text: Secret = field(repr=False)
    passphrase: bool = False


def pages_for_turn(turn: Turn) -> list[RevealPage]:
    """The pages of a custodian's turn: each share, then each user passphrase they receive."""
    pages: list[RevealPage] = []
    for issued in turn.shares:
        meta = issued.share.set
        pages.append(
            RevealPage(
                f"Share of the {meta.kind.value.upper()} passphrase",
                f"set {meta.set_id}, generation {meta.generation}; share {issued.share.index} "
                f"of {meta.count}; any {meta.threshold} recover it; check {issued.share.fingerprint}",
                issued.text,
            )
        )
    for user in turn.user_passphrases:
        pages.append(
            RevealPage(
                f"Passphrase of the user '{user.user_id}' ({user.role.value})",
                "Give it to that user, or keep it as agreed. Type it without the spaces.",
                user.passphrase,
                passphrase=True,
            )
        )
    return pages


def page_lines(page: RevealPage) -> list[str]:
    """The page's secret as numbered lines of spaced groups, as the custodian copies them."""
    rows = paper_rows(page.text, passphrase=page.passphrase)
    return [f"line {n}   " + "   ".join(row) for n, row in enumerate(rows, start=1)]


class RevealScreen(CeremonyStep):
    """Pages through the custodian's secrets. Done only after every page was shown."""

    STEP_TITLE = "your shares"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,n", "page(1)", "Next page", key_display="→", id="ceremony.reveal.next"),
        Binding("left,p", "page(-1)", "Previous", key_display="←", id="ceremony.reveal.previous"),
        Binding("enter", "done", "Written down", key_display="Enter", id="ceremony.reveal.done"),
        *COMMON_BINDINGS,
    ]
    DEFAULT_CSS = """
    RevealScreen #reveal-title { padding: 1 1 0 1; text-style: bold; }
    RevealScreen #reveal-facts { padding: 0 1; }
    RevealScreen #reveal-secret {
        margin: 1 2; padding: 1 2; border: solid $primary; text-style: bold; height: auto;
    }
    RevealScreen #reveal-page { padding: 0 1; text-style: bold; }
    """

    def __init__(
        self,
        custodian: str,
        pages: Sequence[RevealPage],
        *,
        header: str = "Provisioning ceremony",
        warning: str = "",
    ) -> None:
        super().__init__(header=header, warning=warning, secrets_exist=True)
        self.custodian = custodian
        self.pages = list(pages)
        self.page = 0
        self.seen = {0}

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(
            f"{self.custodian}: only you look at the screen now. Copy each page onto your paper "
            "form exactly, group by group, with its line numbers.",
            markup=False,
            classes="c-text",
        )
        yield Static("", id="reveal-page", markup=False)
        yield Static("", id="reveal-title", markup=False)
        yield Static("", id="reveal-facts", markup=False, classes="c-hint")
        yield Static("", id="reveal-secret", markup=False)
        yield Static("", id="reveal-next", markup=False, classes="c-hint")
        yield Footer()

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        page = self.pages[self.page]
        total = len(self.pages)
        self.query_one("#reveal-page", Static).update(f"Page {self.page + 1} of {total}")
        self.query_one("#reveal-title", Static).update(page.title)
        self.query_one("#reveal-facts", Static).update(page.facts)
        self.query_one("#reveal-secret", Static).update("\n".join(page_lines(page)))
        if len(self.seen) < total:
            after = "→ or n: next page. Enter works once you have seen every page."
        else:
            after = "Enter when everything is written down: you will re-type a group of each page."
        self.query_one("#reveal-next", Static).update(after)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "done" and len(self.seen) < len(self.pages):
            return None
        if action == "page" and parameters:
            target = self.page + int(str(parameters[0]))
            if not 0 <= target < len(self.pages):
                return None
        return super().check_action(action, parameters)

    def action_page(self, step: int) -> None:
        target = self.page + step
        if 0 <= target < len(self.pages):
            self.page = target
            self.seen.add(target)
            self._show()

    def action_done(self) -> None:
        if len(self.seen) == len(self.pages):
            self.dismiss(StepEnd.DONE)

    def on_unmount(self) -> None:
        self.pages = []  # the Secrets themselves are wiped by the ceremony when the turn ends
