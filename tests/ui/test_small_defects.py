"""The smaller defects of issue 9, each pinned by what a person sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmconsole.access.session import AdminSession
from hsmconsole.access.signin import SignedIn
from hsmconsole.ceremony.plan import CeremonyPlan
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile
from hsmconsole.errors import InputError
from hsmconsole.models import DeviceState, UserCheck, UserRole
from hsmconsole.secrets import Secret
from screens.base import DeviceContext, Sessions
from screens.ceremony.flow import CeremonyScreen
from screens.ceremony.roster import RosterScreen
from screens.dashboard import DashboardScreen
from screens.dialogs import TypedConfirm
from screens.help import HelpScreen
from tests.snapshots.test_console_snapshots import FP, FakeClient
from tests.ui.conftest import settle
from tests.ui.textshot import Console, screen_text, toasts, type_text

PROFILE = Profile("lab-hsm", "nethsm.example.org:8443", fingerprint=FP)


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def _ctx(state: DeviceState = DeviceState.OPERATIONAL) -> DeviceContext:
    class Client(FakeClient):
        state_shown = state

    return DeviceContext(PROFILE, Client(PROFILE), CredentialVault(), None, False, Sessions())


async def test_system_and_counts_leave_the_dashboard_when_the_session_expires(tmp_path: Path) -> None:
    ctx, clock = _ctx(), Clock()
    ctx.sessions.admin = AdminSession(Credentials("admin", Secret("x" * 12)), idle_timeout=60, clock=clock)
    app = Console(lambda: DashboardScreen(ctx, {}), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "software 3.0" in screen_text(app)
        clock.now += 61
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        dash._watch_session()
        await settle(pilot)
        shown = screen_text(app)
        assert "software 3.0" not in shown and "7 keys" not in shown
        assert "needs an admin session" in shown


async def test_dashboard_help_lists_enter(tmp_path: Path) -> None:
    app = Console(lambda: DashboardScreen(_ctx(), {}), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "Enter" in screen_text(app) and "Run the highlighted action" in screen_text(app)


async def test_a_dialog_help_is_titled_as_the_person_reads_it(tmp_path: Path) -> None:
    confirm = TypedConfirm("Lock the device?", "Keys become unusable.", "lock")
    app = Console(lambda: confirm, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "Keys: Lock the device?" in screen_text(app)
        assert "Typed confirm" not in screen_text(app)


async def test_abort_at_the_roster_does_not_speak_of_shares(tmp_path: Path) -> None:
    app = Console(lambda: CeremonyScreen(_ctx(DeviceState.UNPROVISIONED), data_dir=tmp_path), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RosterScreen)
        await pilot.press("escape")
        await pilot.pause()
        await type_text(pilot, "abort")
        await pilot.press("enter")
        await settle(pilot)
        said = "\n".join(toasts(app))
        assert "before any secret was made" in said and "share" not in said


async def test_back_at_the_roster_typing_adds_to_the_names(tmp_path: Path) -> None:
    plan = CeremonyPlan.single_group(("Alice", "Bob"), 2)
    app = Console(lambda: RosterScreen(plan=plan), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await type_text(pilot, ", Carol")
        screen = app.screen
        assert isinstance(screen, RosterScreen)
        assert screen.build_plan().custodians == ("Alice", "Bob", "Carol")


async def test_unfocused_roster_fields_show_where_to_type(tmp_path: Path) -> None:
    app = Console(RosterScreen, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rows = screen_text(app).splitlines()
        for field in ("witnesses", "threshold", "device-label", "user-0", "holder-1"):
            region = app.screen.query_one(f"#{field}").region
            line = rows[region.y]
            assert line[region.x] == "│" and line[region.right - 1] == "│", (field, line)


def test_shares_of_two_sets_are_refused_in_plain_words() -> None:
    one = split_secret(Secret("first-secret-xyz"), threshold=2, count=2, kind=SecretKind.UNLOCK)
    two = split_secret(Secret("other-secret-xyz"), threshold=2, count=2, kind=SecretKind.UNLOCK)
    collector = ShareCollector(SecretKind.UNLOCK)
    collector.add(encode_share(one[0]))
    with pytest.raises(InputError) as refused:
        collector.add(encode_share(two[1]))
    assert f"but the shares entered so far belong to set {one[0].set.set_id}" in refused.value.title
    collector.wipe()


def test_backup_sign_in_says_what_exists() -> None:
    text = SignedIn(UserCheck("backup", UserRole.BACKUP), from_keyring=False, kept=False).summary()
    assert "may only make backups" not in text
    # Backups exist (the dashboard's Backups entry): say where, not that there are none.
    assert "does not offer yet" not in text
    assert "may only download backups: choose Backups, then Make a backup" in text
