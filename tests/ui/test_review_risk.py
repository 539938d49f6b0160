"""K = N: the review warns, starting needs an explicit acceptance, and the report and journal say so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hsmconsole.ceremony.plan import Ceremony, CeremonyPlan
from hsmconsole.ceremony.record import CeremonyRecorder
from hsmconsole.ceremony.report import render_report
from hsmconsole.journal.chain import Journal
from screens.ceremony.review import ReviewScreen
from screens.dialogs import TypedConfirm
from tests.ui.textshot import Console, screen_text

DEVICE = "lab-hsm (192.0.2.10:8443)"


def test_k_equal_n_is_a_risk_and_k_below_n_is_not() -> None:
    assert CeremonyPlan.single_group(("Alice", "Bob", "Carol"), 2).risks() == []
    risks = CeremonyPlan.single_group(("Alice", "Bob"), 2).risks()
    assert len(risks) == 3 and "unlock 2 of 2" in risks[0] and "never be unlocked" in risks[0]


async def test_review_of_three_of_three_needs_the_risk_accepted_before_start(tmp_path: Path) -> None:
    plan = CeremonyPlan.single_group(("Alice", "Bob", "Carol"), 3)
    app = Console(lambda: ReviewScreen(plan, DEVICE), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        review = app.screen
        assert isinstance(review, ReviewScreen)
        assert "WARNING: unlock 3 of 3" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is review  # not started: the risk is not accepted yet
        await pilot.press("a")
        await pilot.pause()
        assert review.plan.risks_accepted
        assert "Risk accepted" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)


def test_report_and_journal_carry_the_accepted_risk(tmp_path: Path) -> None:
    plan = CeremonyPlan.single_group(("Alice", "Bob"), 2)
    accepted = CeremonyPlan(plan.custodians, plan.policies, risks_accepted=True)
    ceremony = Ceremony(accepted)
    ceremony.started_at = datetime(2026, 1, 1, tzinfo=UTC)
    report = render_report(ceremony, device_host="192.0.2.10", device_fingerprint="x")
    assert "## Warnings" in report and "every share is needed" in report
    assert "Acknowledged explicitly at the review" in report
    journal = Journal(tmp_path / "j.jsonl")
    CeremonyRecorder(journal, "lab").roster(accepted)
    assert "K = N for unlock, admin, backup (acknowledged)" in journal.entries()[0].event.detail
