"""80x24 snapshots of every ceremony step, built from fixed fake data (never a real share)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

import screens
from hsmconsole.ceremony.plan import CeremonyPlan, ChallengePart, DeviceIdentity, InitialUser, SecretPolicy
from hsmconsole.ceremony.record import ProvisioningOutcome
from hsmconsole.ceremony.run import ProvisioningStopped, StepResult, tls_problems
from hsmconsole.custody.shares import SecretKind
from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import MISMATCH_HINT, CertificateMismatch
from hsmconsole.errors import ConnectionFailed
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret
from screens.ceremony.confirm import ConfirmScreen
from screens.ceremony.handoff import HandoffScreen
from screens.ceremony.progress import ProvisioningScreen
from screens.ceremony.reveal import RevealPage, RevealScreen
from screens.ceremony.review import ReviewScreen
from screens.ceremony.roster import RosterScreen

SIZE = (80, 24)
HEADER = "Provisioning ceremony, lab-hsm"
WARNING = "EMULATOR: the built-in emulator, not a real NetHSM. Its state ends on exit."
DEVICE = "lab-hsm (192.0.2.10:8443)"
# A made-up share: the right shape (HSMC1, then 24 five-character groups, five a line), no secret.
FAKE_SHARE = (
    "HSMC1 FAKE0 SHARE N0T4R EAL00\n"
    "AAAA1 BBBB2 CCCC3 DDDD4 EEEE5\n"
    "FFFF6 GGGG7 HHHH8 JJJJ9 KKKK0\n"
    "MMMM1 NNNN2 PPPP3 QQQQ4 RRRR5\n"
    "SSSS6 TTTT7 VVVV8 WWWW9 XXXX0\n"
)
FAKE_PASSPHRASE = "notarealpassphrasejustafixturefortheuserpageexample0"
STEPS = [
    "Provision: set the unlock and admin passphrases and the clock",
    "Pin TLS: check the device still presents the pinned certificate",
    "Set the backup passphrase",
    "Create user backup (Backup)",
    "Check the device is Operational and read its identity",
]
FP = "3F:A1:77:0C:9E:52:BD:10:44:6A:E8:21:CC:05:9B:73:18:F2:60:AA:4D:37:91:E5:0B:C8:7E:26:54:DA:13:8F"
OTHER_FP = "C0:FF:EE:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:12:34:56:78:9A:BC:DE:F0:0F:1E:2D:3C"


def plan() -> CeremonyPlan:
    users = (InitialUser("backup", UserRole.BACKUP, "backup", "Carol"),)
    return CeremonyPlan.single_group(
        ("Alice", "Bob", "Carol"), 2, witnesses=("Walter",), users=users, device_label="rack 4"
    )


class One(App[None]):
    """Shows one step screen as the console would (same theme, no command palette)."""

    ENABLE_COMMAND_PALETTE = False
    CSS_PATH = str(Path(screens.__file__).parent / "app.tcss")  # the console's own stylesheet

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.step = screen

    def on_mount(self) -> None:
        self.theme = "ansi-dark"
        self.push_screen(self.step)


Snap = Callable[..., bool]


def test_roster_empty(snap_compare: Snap) -> None:
    assert snap_compare(One(RosterScreen(header=HEADER, warning=WARNING)), terminal_size=SIZE)


def test_roster_filled_per_secret(snap_compare: Snap) -> None:
    p = plan()
    per_secret = CeremonyPlan(
        p.custodians,
        (
            SecretPolicy(SecretKind.UNLOCK, 2, ("Alice", "Bob", "Carol")),
            SecretPolicy(SecretKind.ADMIN, 3, ("Alice", "Bob", "Carol")),
            SecretPolicy(SecretKind.BACKUP, 2, ("Alice", "Carol")),
        ),
        p.witnesses, p.users, p.device_label,
    )
    screen = RosterScreen(plan=per_secret, header=HEADER, warning=WARNING)
    assert snap_compare(One(screen), terminal_size=SIZE)


def test_review_ready(snap_compare: Snap) -> None:
    assert snap_compare(One(ReviewScreen(plan(), DEVICE, header=HEADER, warning=WARNING)), terminal_size=SIZE)


def test_review_every_share_needed(snap_compare: Snap) -> None:
    """3 of 3: the warning, and Enter dimmed until a accepts the risk."""
    all_needed = CeremonyPlan.single_group(("Alice", "Bob", "Carol"), 3, witnesses=("Walter",))
    screen = ReviewScreen(all_needed, DEVICE, header=HEADER, warning=WARNING)
    assert snap_compare(One(screen), terminal_size=SIZE)


def test_review_insecure_profile(snap_compare: Snap) -> None:
    insecure = tls_problems(Profile("lab-hsm", "192.0.2.10:8443", insecure=True))
    screen = ReviewScreen(plan(), DEVICE, connection_problems=insecure, header=HEADER, warning=WARNING)
    assert snap_compare(One(screen), terminal_size=SIZE)


def test_review_with_problems(snap_compare: Snap) -> None:
    bad = CeremonyPlan.single_group(
        ("Alice", "Bob"), 3, users=(InitialUser("backup", UserRole.BACKUP, "backup", "Dave"),)
    )
    assert snap_compare(One(ReviewScreen(bad, DEVICE, header=HEADER, warning=WARNING)), terminal_size=SIZE)


def test_handoff(snap_compare: Snap) -> None:
    screen = HandoffScreen("Bob", 2, 3, witnesses=("Walter",), header=HEADER, warning=WARNING)
    assert snap_compare(One(screen), terminal_size=SIZE)


def _pages() -> list[RevealPage]:
    return [
        RevealPage(
            "Share of the UNLOCK passphrase",
            "set FAKE0SET, generation 1; share 2 of 3; any 2 recover it; check abcd-efgh",
            Secret(FAKE_SHARE),
        ),
        RevealPage(
            "Passphrase of the user 'backup' (Backup)",
            "Give it to that user, or keep it as agreed. Type it without the spaces.",
            Secret(FAKE_PASSPHRASE),
            passphrase=True,
        ),
    ]


def test_reveal_share_page(snap_compare: Snap) -> None:
    screen = RevealScreen("Bob", _pages(), header=HEADER, warning=WARNING)
    assert snap_compare(One(screen), terminal_size=SIZE)


def test_reveal_passphrase_page(snap_compare: Snap) -> None:
    async def next_page(pilot: Pilot[Any]) -> None:
        await pilot.press("right")

    screen = RevealScreen("Bob", _pages(), header=HEADER, warning=WARNING)
    assert snap_compare(One(screen), terminal_size=SIZE, run_before=next_page)


# Where the fake challenge asks, and what the fake paper says there (FAKE_SHARE, FAKE_PASSPHRASE).
PARTS = (
    (ChallengePart(0, "UNLOCK share", 2, 2), "BBBB2"),
    (ChallengePart(1, "ADMIN share", 4, 5), "RRRR5"),
    (ChallengePart(2, "BACKUP share", 3, 1), "FFFF6"),
    (ChallengePart(3, "passphrase of user backup", 1, 3, 4), "real"),
)


def _confirm() -> ConfirmScreen:
    def check(typed: list[str]) -> list[bool]:
        return [t.replace(" ", "").upper() == want.upper() for t, (_, want) in zip(typed, PARTS, strict=True)]

    return ConfirmScreen(
        "Bob",
        [part for part, _ in PARTS],
        check,
        seal=lambda path, secret: path,
        envelope_path=Path("/media/bob-usb/Bob-FAKE0SET.envelope"),
        header=HEADER, warning=WARNING, media=[Path("/media/bob-usb")],
    )


def _typing(*answers: str, then: tuple[str, ...] = ()) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        for i, text in enumerate(answers):
            pilot.app.screen.query_one(f"#answer-{i}", Input).value = text
        pilot.app.screen.query_one(f"#answer-{len(answers) - 1}", Input).focus()
        await pilot.press("enter", *then)
        await pilot.pause()

    return run


RIGHT = tuple(want for _, want in PARTS)


def test_confirm_asking(snap_compare: Snap) -> None:
    assert snap_compare(One(_confirm()), terminal_size=SIZE)


def test_confirm_wrong_answer(snap_compare: Snap) -> None:
    wrong = ("bbbb2", "RRRR5", "FFFF7", "real")  # the BACKUP group was mis-copied
    assert snap_compare(One(_confirm()), terminal_size=SIZE, run_before=_typing(*wrong))


def test_confirm_confirmed(snap_compare: Snap) -> None:
    assert snap_compare(One(_confirm()), terminal_size=SIZE, run_before=_typing(*RIGHT))


def test_confirm_seal_form(snap_compare: Snap) -> None:
    assert snap_compare(One(_confirm()), terminal_size=SIZE, run_before=_typing(*RIGHT, then=("s",)))


def _progress() -> One:
    # A clock that stands still: the elapsed seconds on screen are always 0 in a snapshot.
    screen = ProvisioningScreen(STEPS, DEVICE, start=None, clock=lambda: 0.0, header=HEADER, warning=WARNING)
    return One(screen)


def _then(act: Callable[[ProvisioningScreen], None]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, ProvisioningScreen)
        act(screen)
        await pilot.pause()

    return run


def test_progress_ready(snap_compare: Snap) -> None:
    assert snap_compare(_progress(), terminal_size=SIZE)


def test_progress_checking(snap_compare: Snap) -> None:
    assert snap_compare(_progress(), terminal_size=SIZE, run_before=_then(lambda s: s.show_checking()))


def test_progress_running(snap_compare: Snap) -> None:
    def running(screen: ProvisioningScreen) -> None:
        screen.show_checking()
        screen.on_provisioning_screen_step_started(ProvisioningScreen.StepStarted(2, 5, STEPS[2]))

    assert snap_compare(_progress(), terminal_size=SIZE, run_before=_then(running))


REPORT = Path("/home/lead/.local/share/hsmconsole/ceremonies/ceremony-20250101-120000-lab-hsm.md")
JOURNAL = Path("/home/lead/.local/share/hsmconsole/journal.jsonl")


def test_progress_done(snap_compare: Snap) -> None:
    results = tuple(StepResult(str(i), label, True) for i, label in enumerate(STEPS))
    identity = DeviceIdentity("5UMIP364R2", "Nitrokey GmbH", "NetHSM", "3.0", "1.0", "2.1")
    outcome = ProvisioningOutcome(results, REPORT, JOURNAL, None, identity, FP)
    assert snap_compare(_progress(), terminal_size=SIZE, run_before=_then(lambda s: s.show_outcome(outcome)))


def test_progress_stopped_midway(snap_compare: Snap) -> None:
    cause = ConnectionFailed("Set backup passphrase: the device did not answer.", "Check the cable.")
    stopped = ProvisioningStopped(cause, tuple(STEPS[:2]), tuple(STEPS[2:]))
    outcome = ProvisioningOutcome((), REPORT, JOURNAL, stopped)
    assert snap_compare(_progress(), terminal_size=SIZE, run_before=_then(lambda s: s.show_outcome(outcome)))


def test_progress_certificate_mismatch(snap_compare: Snap) -> None:
    mismatch = CertificateMismatch(
        "the device now presents a TLS certificate that is NOT the pinned one", MISMATCH_HINT,
        pinned=FP, presented=OTHER_FP,
    )
    stopped = ProvisioningStopped(mismatch, (STEPS[0],), tuple(STEPS[1:]))
    outcome = ProvisioningOutcome((), REPORT, JOURNAL, stopped)
    assert snap_compare(_progress(), terminal_size=SIZE, run_before=_then(lambda s: s.show_outcome(outcome)))


def test_abort_confirmation(snap_compare: Snap) -> None:
    async def press_escape(pilot: Pilot[Any]) -> None:
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press(*"abor")  # what is typed shows in the field

    screen = HandoffScreen("Bob", 2, 3, header=HEADER, warning=WARNING)
    assert snap_compare(One(screen), terminal_size=SIZE, run_before=press_escape)
