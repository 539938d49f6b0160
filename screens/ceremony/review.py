"""The whole plan on one screen, with its problems; starting needs a typed confirmation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from hsmconsole.ceremony.plan import CeremonyPlan
from screens.ceremony.step import COMMON_BINDINGS, CeremonyStep, StepEnd
from screens.dialogs import TypedConfirm

START_WORD = "provision"


def plan_text(plan: CeremonyPlan) -> str:
    """The plan as people read it, one fact a line."""
    lines = ["Custodians, in turn order: " + ", ".join(
        f"{n}. {name}" for n, name in enumerate(plan.custodians, start=1))]
    lines.append("Witnesses: " + (", ".join(plan.witnesses) or "none"))
    if plan.device_label:
        lines.append(f"Device label: {plan.device_label}")
    lines.append("")
    lines.append(f"{'Passphrase':<12} {'Needed':<9} Holders")
    for p in plan.policies:
        lines.append(f"{p.kind.value:<12} {f'{p.threshold} of {p.count}':<9} {', '.join(p.holders)}")
    lines.append("")
    if plan.users:
        lines.append("Users created after provisioning:")
        for u in plan.users:
            lines.append(f"  {u.user_id} ({u.role.value}): its passphrase is shown to {u.holder} only")
    else:
        lines.append("No user is created besides admin.")
    return "\n".join(lines)


class ReviewScreen(CeremonyStep):
    """Shows the plan, `plan.problems()` and `connection_problems` (an unpinned TLS connection, say).
    Ends DONE (start), BACK (edit) or ABORT."""

    STEP_TITLE = "2. review"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "start", "Start", key_display="Enter", id="ceremony.review.start"),
        Binding("b", "back", "Back to roster", id="ceremony.review.back"),
        Binding("a", "accept_risk", "Accept risk", id="ceremony.review.accept"),
        *COMMON_BINDINGS,
    ]
    DEFAULT_CSS = """
    ReviewScreen #review-body { height: 1fr; }
    ReviewScreen #review-plan { padding: 1 1 0 1; height: auto; }
    ReviewScreen #review-problems { height: auto; }
    ReviewScreen #review-risks { height: auto; margin-top: 1; }
    """

    def __init__(self, plan: CeremonyPlan, device: str, *, connection_problems: Sequence[str] = (),
                 header: str = "Provisioning ceremony", warning: str = "") -> None:
        super().__init__(header=header, warning=warning)
        self.plan = plan
        self.device = device
        self.plan_problems = plan.problems()
        self.connection_problems = list(connection_problems)
        self.problems = [*self.connection_problems, *self.plan_problems]
        self.risks = plan.risks()

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with VerticalScroll(id="review-body"):
            yield Static(f"Device: {self.device}", markup=False, classes="c-text")
            yield Static(plan_text(self.plan), markup=False, id="review-plan")
            if self.risks:
                yield Static(self._risk_text(), markup=False, id="review-risks", classes="c-warning")
            if self.problems:
                lines = ["Cannot start yet:", *(f"- {p}" for p in self.problems)]
                if self.plan_problems:
                    lines.append("Press b to fix the roster.")
                yield Static("\n".join(lines), markup=False, id="review-problems", classes="c-error")
            else:
                yield Static(
                    "Next: the secrets are generated in memory. Each custodian in turn sees their "
                    "shares alone and re-types a group of each from paper. Only when all have "
                    "confirmed is the device provisioned. Until then Esc aborts and the device is "
                    "untouched.",
                    markup=False, id="review-next", classes="c-text",
                )
        yield Footer()

    def _risk_text(self) -> str:
        lines = ["WARNING: " + risk for risk in self.risks]
        if self.plan.risks_accepted:
            lines.append("Risk accepted: the report and the journal say so.")
        else:
            lines.append("Press a to accept this risk knowingly (it goes into the report), or b to "
                         "change the roster: K below N leaves room for a lost share.")
        return "\n".join(lines)

    @property
    def risk_open(self) -> bool:
        return bool(self.risks) and not self.plan.risks_accepted

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start" and (self.problems or self.risk_open):
            return None
        if action == "accept_risk":
            return self.risk_open and not self.problems
        return super().check_action(action, parameters)

    def action_accept_risk(self) -> None:
        if not self.risk_open:
            return
        self.plan = replace(self.plan, risks_accepted=True)
        self.query_one("#review-risks", Static).update(self._risk_text())
        self.refresh_bindings()

    def action_start(self) -> None:
        if self.problems or self.risk_open:
            return
        confirm = TypedConfirm(
            "Start the ceremony?",
            f"It ends by provisioning {self.device} with secrets nobody will know whole. "
            "Have every custodian present with a pen and a paper form.",
            START_WORD,
        )
        self.app.push_screen(confirm, self._start_answered)

    def _start_answered(self, ok: bool | None) -> None:
        if ok:
            self.dismiss(StepEnd.DONE)

    def action_back(self) -> None:
        self.dismiss(StepEnd.BACK)
