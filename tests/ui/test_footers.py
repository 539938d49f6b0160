"""Every footer fits 80 columns, in every state that changes it: no key is cut off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey

from hsmconsole.ceremony.plan import CeremonyPlan, ChallengePart
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from screens.admin_session import AdminSessionScreen
from screens.backup.backup_shares import BackupSharesScreen
from screens.backup_passphrase import BackupPassphraseScreen
from screens.base import DeviceContext, Sessions
from screens.ceremony.confirm import ConfirmScreen
from screens.ceremony.handoff import HandoffScreen
from screens.ceremony.progress import ProvisioningScreen
from screens.ceremony.reveal import RevealPage, RevealScreen
from screens.ceremony.review import ReviewScreen
from screens.ceremony.roster import RosterScreen
from screens.connect import ConnectScreen
from screens.dashboard import DashboardScreen
from screens.help import HelpScreen
from screens.quorum_unlock import QuorumUnlockScreen
from screens.signin import SignInScreen
from tests.snapshots.test_console_snapshots import FAKE_ADMIN, FAKE_UNLOCK, FP, FakeClient
from tests.ui.textshot import Console

WIDTH = 80
PROFILE = Profile("lab-hsm-in-rack-4", "nethsm.example.org:8443", fingerprint=FP)
PLAN = CeremonyPlan.single_group(("Alice", "Bob", "Carol"), 2)


def _ctx(state: DeviceState = DeviceState.OPERATIONAL) -> DeviceContext:
    class Client(FakeClient):
        state_shown = state

    return DeviceContext(PROFILE, Client(PROFILE), CredentialVault(), None, True, Sessions())


async def _shares(pilot: Pilot[Any], *texts: str) -> None:
    for text in texts:
        box = pilot.app.screen.query_one("#share", Input)
        box.value = text
        box.focus()
        await pilot.press("enter")
        await pilot.pause()


def _reveal() -> RevealScreen:
    pages = [RevealPage("Share", "facts", Secret("HSMC1 AAAAA")), RevealPage("Share", "f", Secret("B"))]
    return RevealScreen("Alice", pages)


def _confirm() -> ConfirmScreen:
    return ConfirmScreen("Alice", [ChallengePart(0, "UNLOCK share", 1, 2)], lambda t: [True],
                         seal=lambda p, s: p)


async def _nothing(pilot: Pilot[Any]) -> None:
    return None


async def _confirmed(pilot: Pilot[Any]) -> None:
    pilot.app.screen.query_one("#answer-0", Input).value = "AAAAA"
    pilot.app.screen.query_one("#answer-0", Input).focus()
    await pilot.press("enter")


async def _sealing(pilot: Pilot[Any]) -> None:
    await _confirmed(pilot)
    await pilot.press("s")


async def _running(pilot: Pilot[Any]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, ProvisioningScreen)
    screen.show_running(1)


Case = tuple[Callable[[], Screen[Any]], Callable[[Pilot[Any]], Awaitable[None]]]
CASES: dict[str, Case] = {
    "connect": (lambda: ConnectScreen(ProfileStore(Path("/nonexistent")), probe=lambda h: FP), _nothing),
    "dashboard": (lambda: DashboardScreen(_ctx(), {}), _nothing),
    "quorum unlock": (lambda: QuorumUnlockScreen(_ctx(DeviceState.LOCKED)), _nothing),
    "quorum unlock, quorum reached": (lambda: QuorumUnlockScreen(_ctx(DeviceState.LOCKED)),
                                      lambda p: _shares(p, *FAKE_UNLOCK)),
    "admin session": (lambda: AdminSessionScreen(_ctx()), _nothing),
    "admin session, quorum reached": (lambda: AdminSessionScreen(_ctx()),
                                      lambda p: _shares(p, FAKE_ADMIN)),
    "backup passphrase": (lambda: BackupPassphraseScreen(_ctx()), _nothing),
    "backup shares": (lambda: BackupSharesScreen(_ctx(), "opens the backup"), _nothing),
    "sign in": (lambda: SignInScreen(_ctx()), _nothing),
    "help": (lambda: HelpScreen("Dashboard", [("Enter", "Run")]), _nothing),
    "roster": (RosterScreen, _nothing),
    "review": (lambda: ReviewScreen(PLAN, "lab-hsm (192.0.2.10:8443)"), _nothing),
    "review, every share needed": (
        lambda: ReviewScreen(CeremonyPlan.single_group(("A", "B"), 2), "lab-hsm (192.0.2.10:8443)"),
        _nothing,
    ),
    "handoff": (lambda: HandoffScreen("Alice", 1, 3), _nothing),
    "reveal": (_reveal, _nothing),
    "confirm, asking": (_confirm, _nothing),
    "confirm, confirmed": (_confirm, _confirmed),
    "confirm, sealing": (_confirm, _sealing),
    "provisioning, ready": (lambda: ProvisioningScreen(["a", "b"], "lab-hsm", None), _nothing),
    "provisioning, running": (lambda: ProvisioningScreen(["a", "b"], "lab-hsm", None), _running),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_every_footer_fits_80_columns(case: str, tmp_path: Path) -> None:
    make, then = CASES[case]
    app = Console(make, tmp_path)
    async with app.run_test(size=(WIDTH, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == type(make()).__name__
        await then(pilot)
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        keys = list(footer.query(FooterKey))
        assert keys, "a full screen has a footer with its keys"
        shown = "  ".join(f"{k.key_display} {k.description}" for k in keys)
        assert max(k.virtual_region.right for k in keys) <= WIDTH, f"cut at {WIDTH}: {shown}"
        if not isinstance(app.screen, ModalScreen):
            # Ctrl+Q is how a person leaves; it must not be the key that falls off the end.
            assert any(k.key_display == "Ctrl+Q" for k in keys), shown
