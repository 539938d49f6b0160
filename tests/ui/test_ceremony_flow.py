"""Pilot: whole provisioning ceremonies against the built-in emulator over HTTPS, then quorum unlock."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from hsmconsole.ceremony.plan import Ceremony, CeremonyPlan
from hsmconsole.ceremony.record import ProvisioningOutcome, provision_and_report
from hsmconsole.custody.envelope import KdfParams, read_envelope
from hsmconsole.custody.shares import SecretKind, decode_share
from hsmconsole.custody.split import combine_shares
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import StateError
from hsmconsole.journal.chain import Journal, verify_journal
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from screens.admin_session import AdminSessionScreen
from screens.app import HsmConsoleApp
from screens.base import DeviceContext, Sessions, quit_refusal
from screens.ceremony.confirm import ConfirmScreen
from screens.ceremony.flow import CeremonyScreen
from screens.ceremony.handoff import HandoffScreen
from screens.ceremony.progress import ProvisioningScreen, RunState
from screens.ceremony.reveal import RevealScreen
from screens.ceremony.review import ReviewScreen
from screens.ceremony.roster import RosterScreen
from screens.dashboard import DashboardScreen
from screens.dialogs import ErrorDialog, TypedConfirm
from screens.quorum_unlock import QuorumUnlockScreen

NAMES = ("Alice", "Bob", "Carol")
FAST_KDF = KdfParams(memory_kib=1024, iterations=1, lanes=1)  # envelopes in tests: the format, not the cost
ENVELOPE_PASS = "correct horse battery"
SIZE = (80, 24)


@pytest.fixture
def emulator() -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator() as emu:
        yield emu


@pytest.fixture
def ctx(emulator: EmbeddedEmulator, tmp_path: Path) -> DeviceContext:
    profile = Profile("emu", emulator.host_port, emulator.fingerprint)
    journal = Journal(tmp_path / "data" / "journal.jsonl")
    return DeviceContext(profile, DeviceClient(profile), CredentialVault(), journal, True, Sessions())


class Harness(App[None]):
    """Opens one flow screen over an empty app, as the dashboard would."""

    ENABLE_COMMAND_PALETTE = False

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        self.result: object = "running"

    def on_mount(self) -> None:
        self.theme = "ansi-dark"
        self.push_screen(self.make(), self._done)

    def _done(self, result: object) -> None:
        self.result = result


def screen_text(app: App[Any]) -> str:
    """What a person sees now: the rendered characters of the whole terminal."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for(pilot: Pilot[Any], cond: Callable[[], bool], timeout: float = 240) -> None:
    # Generous: a scrypt unlock takes seconds, many on a shared machine running tests in parallel.
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out; screen:\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)


async def wait_screen(pilot: Pilot[Any], kind: type) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind))
    await pilot.pause()
    await wait_for(pilot, lambda: bool(screen_text(pilot.app).strip()))


async def type_text(pilot: Pilot[Any], text: str) -> None:
    keys = {" ": "space", ",": "comma", "-": "minus", ".": "full_stop", "/": "slash", "_": "underscore"}
    await pilot.press(*[keys.get(ch, ch) for ch in text])


async def fill(pilot: Pilot[Any], widget_id: str, text: str) -> None:
    box = pilot.app.screen.query_one(f"#{widget_id}", Input)
    box.focus()
    box.value = ""
    await pilot.pause()
    await type_text(pilot, text)


class Recorder:
    """The custodians' paper: what each wrote down from their reveal screen, and what others saw."""

    def __init__(self) -> None:
        self.paper: dict[str, dict[str, str]] = {}  # custodian -> page title -> text as copied
        self.seen_outside_reveal: list[str] = []

    def look(self, app: App[Any]) -> None:
        if not isinstance(app.screen, RevealScreen):
            self.seen_outside_reveal.append(screen_text(app))


def copied(secret_widget: Static) -> str:
    """Turn the reveal screen's 'line N   G G G' rows back into what goes on paper."""
    rows = str(secret_widget.content).splitlines()
    return "\n".join(re.sub(r"^line \d+\s+", "", row) for row in rows)


async def plan_roster(
    pilot: Pilot[Any], rec: Recorder, *, custodians: str = "Alice, Bob, Carol", holder: str = "carol"
) -> None:
    await wait_screen(pilot, RosterScreen)
    await fill(pilot, "custodians", custodians)
    await fill(pilot, "witnesses", "Walter")
    await fill(pilot, "holder-0", holder)
    rec.look(pilot.app)
    await pilot.press("ctrl+n")
    await wait_screen(pilot, ReviewScreen)
    rec.look(pilot.app)


async def start_from_review(pilot: Pilot[Any], rec: Recorder) -> None:
    review = pilot.app.screen
    if isinstance(review, ReviewScreen) and review.risks:
        await pilot.press("enter")  # K = N: Enter waits until the risk is accepted
        await pilot.pause()
        assert pilot.app.screen is review
        await pilot.press("a")
    await pilot.press("enter")
    await wait_screen(pilot, TypedConfirm)
    await type_text(pilot, "provision")
    await pilot.press("enter")


async def custodian_turn(
    pilot: Pilot[Any], rec: Recorder, name: str, *, mistype: bool = False, look_again: bool = False,
    seal_to: Path | None = None,
) -> None:
    app = pilot.app
    await wait_screen(pilot, HandoffScreen)
    assert "Hand the keyboard to" in screen_text(app) and name in screen_text(app)
    rec.look(app)
    await pilot.press("enter")
    await wait_screen(pilot, RevealScreen)
    reveal = app.screen
    assert isinstance(reveal, RevealScreen)
    paper: dict[str, str] = {}
    for page in range(len(reveal.pages)):
        title = str(reveal.query_one("#reveal-title", Static).content)
        paper[title] = copied(reveal.query_one("#reveal-secret", Static))
        if page < len(reveal.pages) - 1:
            await pilot.press("right")
    rec.paper[name] = paper
    await pilot.press("enter")
    await wait_screen(pilot, ConfirmScreen)
    confirm = app.screen
    assert isinstance(confirm, ConfirmScreen)
    # One group of every page the custodian copied: each share, and any user passphrase.
    assert len(confirm.query(".part")) == len(paper)
    rec.look(app)
    if look_again:
        await pilot.press("f2")
        await wait_screen(pilot, RevealScreen)
        for _ in range(len(rec.paper[name]) - 1):
            await pilot.press("right")
        await pilot.press("enter")
        await wait_screen(pilot, ConfirmScreen)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
    wheres = [str(label.content) for label in confirm.query(".part Label").results(Label)]
    if mistype:
        for _ in wheres:
            await type_text(pilot, "AAAAA")
            await pilot.press("enter")
        await pilot.pause()
        assert "Does not match" in screen_text(app)
        rec.look(app)
        confirm.query_one("#answer-0", Input).focus()
    for where in wheres:
        box = app.focused
        assert isinstance(box, Input)
        box.value = ""
        await type_text(pilot, answer(where, paper))
        await pilot.press("enter")
    await wait_for(pilot, lambda: "Confirmed" in screen_text(app))
    rec.look(app)
    if seal_to is not None:
        await pilot.press("s")
        await fill(pilot, "envelope-path", str(seal_to))
        await fill(pilot, "envelope-pass", ENVELOPE_PASS)
        await pilot.press("enter")
        await type_text(pilot, ENVELOPE_PASS)
        rec.look(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Sealed to" in screen_text(app))
        rec.look(app)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))


def answer(where: str, paper: dict[str, str]) -> str:
    """Read one asked place as a custodian would ("ADMIN share, line 3, 2nd group") and copy that
    group from the paper."""
    found = re.fullmatch(r"(?:(\w+) share|passphrase of user (\S+)), line (\d+), (\d)\w\w group", where)
    assert found is not None, where
    kind, user, line, col = found.groups()
    title = next(
        t for t in paper
        if (kind and f"the {kind} passphrase" in t) or (user and f"the user '{user}'" in t)
    )
    lines = [row.split() for row in paper[title].splitlines()]
    return lines[int(line) - 1][int(col) - 1]


def shares_of(rec: Recorder, kind: SecretKind) -> dict[str, str]:
    return {
        name: text for name, paper in rec.paper.items() for title, text in paper.items()
        if f"{kind.value.upper()} passphrase" in title and title.startswith("Share")
    }


async def run_ceremony(pilot: Pilot[Any], rec: Recorder, tmp_path: Path) -> ProvisioningScreen:
    await plan_roster(pilot, rec)
    await start_from_review(pilot, rec)
    await custodian_turn(pilot, rec, "Alice", seal_to=tmp_path / "usb" / "alice.envelope")
    await custodian_turn(pilot, rec, "Bob", mistype=True, look_again=True)
    await custodian_turn(pilot, rec, "Carol")
    await wait_screen(pilot, ProvisioningScreen)
    progress = pilot.app.screen
    assert isinstance(progress, ProvisioningScreen)
    rec.look(pilot.app)
    assert "Nothing has been sent" in screen_text(pilot.app)
    await pilot.press("enter")
    await wait_for(pilot, lambda: progress.state in (RunState.DONE, RunState.STOPPED), timeout=240)
    rec.look(pilot.app)
    return progress


@pytest.mark.slow
async def test_full_two_of_three_ceremony_then_lock_and_quorum_unlock(
    ctx: DeviceContext, emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    app = Harness(lambda: CeremonyScreen(ctx, data_dir=data, kdf=FAST_KDF))
    rec = Recorder()
    async with app.run_test(size=SIZE) as pilot:
        progress = await run_ceremony(pilot, rec, tmp_path)
        assert progress.state is RunState.DONE, screen_text(app)
        outcome = progress.outcome
        assert outcome is not None and outcome.ok
        # The state flips before the next frame is drawn: wait for what a person would read.
        name = outcome.report_path.name
        await wait_for(
            pilot, lambda: "Operational" in (t := screen_text(app)) and name in re.sub(r"\s", "", t)
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result != "running")
        assert app.result is True

    client = ctx.client
    assert client.state() is DeviceState.OPERATIONAL
    # Every custodian received one share of each passphrase; Carol also the backup user's.
    assert set(rec.paper) == set(NAMES)
    assert any("user 'backup'" in title for title in rec.paper["Carol"])
    # Alice's envelope opens with her passphrase and holds her three shares.
    sealed = read_envelope(tmp_path / "usb" / "alice.envelope", Secret(ENVELOPE_PASS))
    assert sorted(s.set.kind.value for s in sealed) == ["admin", "backup", "unlock"]

    # The journal's chain holds: roster, generation, each confirmation, the seal, every step.
    assert verify_journal(ctx.journal.path).ok  # type: ignore[union-attr]
    actions = [e.event.action for e in ctx.journal.entries()]  # type: ignore[union-attr]
    assert actions[:2] == ["ceremony.roster", "ceremony.generated"]
    assert actions.count("ceremony.confirmed") == 3 and "ceremony.sealed" in actions
    assert "ceremony.provisioned" in actions and actions[-1] == "ceremony.report"
    report = outcome.report_path.read_text()
    assert "Completed" in report and "Custodian Bob" in report and "Witness Walter" in report

    # The backup user got the passphrase Carol was shown.
    backup_pass = rec.paper["Carol"][next(t for t in rec.paper["Carol"] if "user 'backup'" in t)]
    backup_creds = Credentials("backup", Secret(backup_pass.replace(" ", "").replace("\n", "")))
    admin_shares = shares_of(rec, SecretKind.ADMIN)
    admin = combine_shares([decode_share(admin_shares["Alice"]), decode_share(admin_shares["Bob"])])
    assert "backup" in client.list_users(Credentials("admin", admin))
    with pytest.raises(Exception, match="role"):
        client.list_users(backup_creds)  # the backup passphrase is right: it fails on the role only

    # The ceremony's TLS check and the device's own identity reached the journal.
    details = {e.event.action: e.event.detail for e in ctx.journal.entries()}  # type: ignore[union-attr]
    assert emulator.fingerprint in details["ceremony.step.pin-tls"]
    assert "presented it again after provisioning" in report

    # After the ceremony, as the runbook says: every pair of custodians can lock (through a
    # quorum admin session and the dashboard's typed lock) and unlock (quorum unlock).
    await lock_and_unlock_with_every_pair(ctx, rec, tmp_path)
    assert client.state() is DeviceState.OPERATIONAL
    actions = [e.event.action for e in ctx.journal.entries()]  # type: ignore[union-attr]
    assert actions.count("unlock") == 3 and verify_journal(ctx.journal.path).ok  # type: ignore[union-attr]


async def enter_shares(pilot: Pilot[Any], texts: list[str]) -> None:
    for text in texts:
        box = pilot.app.screen.query_one("#share", Input)
        box.value = text.replace("\n", " ")
        box.focus()
        await pilot.press("enter")
        await pilot.pause()
    await wait_for(pilot, lambda: "Quorum reached" in screen_text(pilot.app))
    await pilot.press("enter")


async def lock_and_unlock_with_every_pair(ctx: DeviceContext, rec: Recorder, tmp_path: Path) -> None:
    admin = shares_of(rec, SecretKind.ADMIN)
    unlock = shares_of(rec, SecretKind.UNLOCK)
    app = HsmConsoleApp(
        store=ProfileStore(tmp_path / "config"), client_factory=DeviceClient, profile=ctx.profile,
        emulator=True, journal=ctx.journal, keyring_notice=False,
    )

    def dashboard_state() -> DeviceState | None:
        screen = app.screen
        status = screen.status if isinstance(screen, DashboardScreen) else None
        return status.state if status is not None else None

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: dashboard_state() is DeviceState.OPERATIONAL)
        for pair in itertools.combinations(NAMES, 2):
            await pilot.press("a")
            await wait_screen(pilot, AdminSessionScreen)
            await enter_shares(pilot, [admin[name] for name in pair])
            await wait_screen(pilot, DashboardScreen)
            await wait_for(pilot, lambda: ctx_session_open(app))
            # The dashboard re-reads the status with the session before it offers Lock.
            await wait_for(pilot, lambda: lock_offered(app))
            await pilot.press("l")
            await wait_screen(pilot, TypedConfirm)
            await type_text(pilot, "lock")
            await pilot.press("enter")
            await wait_for(pilot, lambda: dashboard_state() is DeviceState.LOCKED)
            assert ctx.client.state() is DeviceState.LOCKED, pair
            await pilot.press("u")
            await wait_screen(pilot, QuorumUnlockScreen)
            await enter_shares(pilot, [unlock[name] for name in reversed(pair)])
            await wait_for(pilot, lambda: dashboard_state() is DeviceState.OPERATIONAL)
            assert ctx.client.state() is DeviceState.OPERATIONAL, pair


def lock_offered(app: HsmConsoleApp) -> bool:
    screen = app.screen
    return isinstance(screen, DashboardScreen) and any(
        a.id == "lock" and a.enabled for a in screen.actions
    )


def ctx_session_open(app: HsmConsoleApp) -> bool:
    context = app.context
    return context is not None and context.sessions.admin is not None and context.sessions.admin.open


@pytest.mark.slow
async def test_no_secret_reaches_disk_screen_or_output(
    ctx: DeviceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "share"), ("HOME", "")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.chdir(tmp_path)
    app = Harness(lambda: CeremonyScreen(ctx, data_dir=tmp_path / "data", kdf=FAST_KDF))
    rec = Recorder()
    async with app.run_test(size=SIZE) as pilot:
        progress = await run_ceremony(pilot, rec, tmp_path)
        assert progress.state is RunState.DONE
        await pilot.press("enter")
    out, err = capfd.readouterr()

    secrets_seen: list[str] = []
    for paper in rec.paper.values():
        for text in paper.values():
            secrets_seen.append(text.replace(" ", "").replace("\n", ""))
    assert len(secrets_seen) == 10  # 9 shares and one user passphrase
    shares = [decode_share(t) for name, p in rec.paper.items() for title, t in p.items() if "Share" in title]
    admin = [s for s in shares if s.set.kind is SecretKind.ADMIN]
    unlock = [s for s in shares if s.set.kind is SecretKind.UNLOCK]
    backup = [s for s in shares if s.set.kind is SecretKind.BACKUP]
    for group in (admin, unlock, backup):
        secrets_seen.append(combine_shares(group[:2]).reveal_str())

    def flat(text: str) -> str:
        return re.sub(r"[\s│┃|]", "", text).upper()

    haystacks = {"stdout": out, "stderr": err}
    haystacks.update({f"screen {i}": t for i, t in enumerate(rec.seen_outside_reveal)})
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".envelope":
            haystacks[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert any("journal.jsonl" in k for k in haystacks) and any(k.endswith(".md") for k in haystacks)
    assert len(rec.seen_outside_reveal) >= 10
    for where, text in haystacks.items():
        flattened = flat(text)
        for secret in secrets_seen:
            assert secret.upper() not in flattened, f"a secret was found in {where}"
            # Any two consecutive groups of a share would already be too much.
            groups = re.findall(r"[0-9A-Z]{5}", secret[5:]) if secret.startswith("HSMC1") else []
            for a, b in itertools.pairwise(groups):
                assert a + b not in flattened, f"part of a share was found in {where}"


@pytest.mark.slow
async def test_abort_before_provisioning_leaves_the_device_unprovisioned(
    ctx: DeviceContext, tmp_path: Path
) -> None:
    app = Harness(lambda: CeremonyScreen(ctx, data_dir=tmp_path / "data", kdf=FAST_KDF))
    rec = Recorder()
    async with app.run_test(size=SIZE) as pilot:
        await plan_roster(pilot, rec)
        await start_from_review(pilot, rec)
        await custodian_turn(pilot, rec, "Alice")
        await wait_screen(pilot, HandoffScreen)
        # Quitting the app now is refused: shares are out, so the abort must be deliberate.
        reason = quit_refusal(app)
        assert reason is not None and "abort" in reason
        # Escape asks for a typed confirmation; a wrong word keeps the ceremony going.
        await pilot.press("escape")
        await wait_screen(pilot, TypedConfirm)
        await type_text(pilot, "no")
        await pilot.press("enter")
        assert isinstance(app.screen, TypedConfirm) and "not abort" in screen_text(app)
        await pilot.press("escape")
        await wait_screen(pilot, HandoffScreen)
        await pilot.press("ctrl+c")
        await wait_screen(pilot, TypedConfirm)
        await type_text(pilot, "abort")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result != "running")
        assert app.result is False
        assert quit_refusal(app) is None
    assert ctx.client.state() is DeviceState.UNPROVISIONED
    actions = [e.event.action for e in ctx.journal.entries()]  # type: ignore[union-attr]
    assert actions[-1] == "ceremony.aborted"
    assert not list((tmp_path / "data").glob("ceremonies/*"))


@pytest.mark.slow
async def test_device_not_unprovisioned_is_refused_before_anything_is_sent(
    ctx: DeviceContext, emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    ctx.client.provision(Secret("unlockunlock"), Secret("adminadmin"))
    app = Harness(lambda: CeremonyScreen(ctx, data_dir=tmp_path / "data", kdf=FAST_KDF))
    rec = Recorder()
    async with app.run_test(size=SIZE) as pilot:
        await plan_roster(pilot, rec)
        await start_from_review(pilot, rec)
        await wait_screen(pilot, ErrorDialog)
        assert "not Unprovisioned" in screen_text(app) and "Nothing was generated" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result != "running")
        assert app.result is False
    # The old passphrases still work: nothing was changed.
    assert ctx.client.list_users(Credentials("admin", Secret("adminadmin"))) == ["admin"]
    assert not (tmp_path / "data" / "journal.jsonl").exists() or not [
        e for e in ctx.journal.entries() if e.event.action == "ceremony.generated"  # type: ignore[union-attr]
    ]


@pytest.mark.slow
async def test_device_provisioned_by_someone_else_during_the_turns_is_refused_and_untouched(
    ctx: DeviceContext, tmp_path: Path
) -> None:
    app = Harness(lambda: CeremonyScreen(ctx, data_dir=tmp_path / "data", kdf=FAST_KDF))
    rec = Recorder()
    async with app.run_test(size=SIZE) as pilot:
        await plan_roster(pilot, rec, custodians="Alice, Bob", holder="Bob")
        await start_from_review(pilot, rec)
        await custodian_turn(pilot, rec, "Alice")
        await custodian_turn(pilot, rec, "Bob")
        await wait_screen(pilot, ProvisioningScreen)
        progress = app.screen
        assert isinstance(progress, ProvisioningScreen)
        ctx.client.provision(Secret("unlockunlock"), Secret("adminadmin"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: progress.state is RunState.REFUSED)
        await wait_for(
            pilot, lambda: "Nothing was sent" in (t := screen_text(app)) and "not Unprovisioned" in t
        )
        await pilot.press("escape")
        await wait_screen(pilot, TypedConfirm)
        await type_text(pilot, "abort")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result != "running")
        assert app.result is False
    assert ctx.client.list_users(Credentials("admin", Secret("adminadmin"))) == ["admin"]


async def two_custodians_to_provisioning(pilot: Pilot[Any], rec: Recorder) -> ProvisioningScreen:
    await plan_roster(pilot, rec, custodians="Alice, Bob", holder="Bob")
    await start_from_review(pilot, rec)
    await custodian_turn(pilot, rec, "Alice")
    await custodian_turn(pilot, rec, "Bob")
    await wait_screen(pilot, ProvisioningScreen)
    progress = pilot.app.screen
    assert isinstance(progress, ProvisioningScreen)
    return progress


class StallingClient(DeviceClient):
    """The real client, except that state() can be made to hang (a device that stops answering)
    and every device-changing call is noted."""

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self.stall = threading.Event()
        self.release = threading.Event()
        self.answered = threading.Event()
        self.changes: list[str] = []

    def state(self) -> DeviceState:
        if self.stall.is_set():
            self.release.wait(60)
            try:
                return super().state()
            finally:
                self.answered.set()
        return super().state()

    def provision(self, unlock: Secret, admin: Secret, when: datetime | None = None) -> None:
        self.changes.append("provision")
        super().provision(unlock, admin, when)


@pytest.mark.slow
async def test_a_device_that_stops_answering_before_provisioning_can_still_be_aborted(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    profile = Profile("emu", emulator.host_port, emulator.fingerprint)
    client = StallingClient(profile)
    ctx = DeviceContext(profile, client, CredentialVault(), Journal(tmp_path / "j.jsonl"), True, Sessions())
    app = Harness(lambda: CeremonyScreen(ctx, data_dir=tmp_path / "data", kdf=FAST_KDF))
    rec = Recorder()
    async with app.run_test(size=SIZE) as pilot:
        progress = await two_custodians_to_provisioning(pilot, rec)
        client.stall.set()
        await pilot.press("enter")
        # While only the state check runs, the screen says so, with the seconds waited, and
        # does not claim that provisioning is under way.
        await wait_for(pilot, lambda: "1 s." in screen_text(app) or "2 s." in screen_text(app))
        text = screen_text(app)
        assert progress.state is RunState.CHECKING
        assert "Checking that the device is Unprovisioned" in text and "Nothing has been sent" in text
        assert "Do not close" not in text and "Esc Abort" in text
        # Ctrl+Q's refusal says what can actually be done now: Esc, then 'abort'.
        reason = quit_refusal(app)
        assert reason is not None and "Esc" in reason and "Nothing has been sent" in reason
        await pilot.press("escape")
        await wait_screen(pilot, TypedConfirm)
        await type_text(pilot, "abort")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result != "running")
        assert app.result is False
        # The device answers after all: the aborted ceremony sends nothing.
        client.release.set()
        await asyncio.to_thread(client.answered.wait, 30)
        await pilot.pause(0.5)
    assert client.changes == []
    assert client.state() is DeviceState.UNPROVISIONED
    actions = [e.event.action for e in ctx.journal.entries()]  # type: ignore[union-attr]
    assert actions[-1] == "ceremony.aborted" and "ceremony.provisioned" not in actions


async def test_provisioning_screen_offers_only_what_is_true_in_each_state() -> None:
    """Esc and Ctrl+Q's advice follow what has been sent: nothing (abort), or something (wait)."""
    checking, running, finish = threading.Event(), threading.Event(), threading.Event()
    labels = ["Provision", "Pin TLS"]

    def start(progress: Callable[[int, int, str], None]) -> ProvisioningOutcome:
        checking.wait(10)
        progress(0, 2, labels[0])
        running.set()
        finish.wait(10)
        raise StateError("stop here")

    screen = ProvisioningScreen(labels, "lab", start, cancel=lambda: False)
    app = Harness(lambda: screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, ProvisioningScreen)
        assert screen.check_action("abort", ()) is True
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state is RunState.CHECKING)
        assert screen.check_action("abort", ()) is True  # although a worker runs
        assert "Esc" in (screen.quit_refusal() or "")
        checking.set()
        await wait_for(pilot, lambda: screen.state is RunState.RUNNING)
        assert screen.check_action("abort", ()) is False
        refusal = screen.quit_refusal() or ""
        assert "wait until it has finished" in refusal and "Esc" not in refusal
        assert "Do not close" in screen_text(app)
        finish.set()
        await wait_for(pilot, lambda: screen.state is RunState.REFUSED)


async def test_an_insecure_profile_is_refused_on_the_review(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    profile = Profile("emu-insecure", emulator.host_port, insecure=True)
    ctx = DeviceContext(
        profile, DeviceClient(profile), CredentialVault(), Journal(tmp_path / "j.jsonl"), True, Sessions()
    )
    app = Harness(lambda: CeremonyScreen(ctx, data_dir=tmp_path / "data", kdf=FAST_KDF))
    rec = Recorder()
    async with app.run_test(size=SIZE) as pilot:
        await plan_roster(pilot, rec)
        text = re.sub(r"\s+", " ", screen_text(app))
        assert "Cannot start yet" in text and "does not verify the device's TLS certificate" in text
        assert "pin it" in text
        await pilot.press("enter")  # Start is refused: no confirmation, no secret generated
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("escape")
        await wait_screen(pilot, TypedConfirm)
        await type_text(pilot, "abort")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result != "running")
    assert ctx.client.state() is DeviceState.UNPROVISIONED
    actions = [e.event.action for e in ctx.journal.entries()]  # type: ignore[union-attr]
    assert "ceremony.generated" not in actions


OTHER_FP = "C0:FF:EE:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:12:34:56:78:9A:BC:DE:F0:0F:1E:2D:3C"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A data folder as short as a person's (~/.local/share/hsmconsole): screens that must fit
    80x24 wrap pytest's tmp_path, whose length grows with the run number, onto one more line."""
    path = Path(tempfile.mkdtemp(prefix="hc", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
async def test_a_different_certificate_after_provisioning_stops_with_the_mismatch(
    emulator: EmbeddedEmulator, short_dir: Path
) -> None:
    data = short_dir / "data"
    # The journal's path is on the stopped screen too: short like a person's, not under tmp_path
    # (whose length differs between a plain run and a parallel worker's gw0/ directories).
    profile = Profile("emu", emulator.host_port, emulator.fingerprint)
    ctx = DeviceContext(
        profile, DeviceClient(profile), CredentialVault(), Journal(data / "journal.jsonl"), True, Sessions()
    )
    app = Harness(
        lambda: CeremonyScreen(ctx, data_dir=data, kdf=FAST_KDF, probe=lambda host: OTHER_FP)
    )
    rec = Recorder()
    async with app.run_test(size=SIZE) as pilot:
        progress = await two_custodians_to_provisioning(pilot, rec)
        await pilot.press("enter")
        await wait_for(pilot, lambda: progress.state is RunState.STOPPED, timeout=240)
        await wait_for(pilot, lambda: "PROVISIONING STOPPED" in screen_text(app))
        text = screen_text(app)
        assert "NOT" in text and "pinned one" in text and "C0:FF:EE" in text
        assert "[x] Provision" in text and "[!] Pin TLS" in text and "[ ] Set the backup" in text
        # It all fits 80x24, paths included: nothing to scroll to.
        assert app.screen.query_one("#progress-body").max_scroll_y == 0, screen_text(app)
        outcome = progress.outcome
        assert outcome is not None and outcome.stopped is not None
        assert outcome.report_path.name in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result != "running")
    report = outcome.report_path.read_text()
    assert "FAILED" in report and f"the device presented {OTHER_FP}: NOT the pinned one" in report
    failed = [e.event for e in ctx.journal.entries() if e.event.action == "ceremony.step.pin-tls"]  # type: ignore[union-attr]
    assert len(failed) == 1 and OTHER_FP in failed[0].detail
    assert ctx.client.state() is DeviceState.OPERATIONAL  # provisioned: the shares must be kept


async def test_roster_defaults_say_what_is_missing(tmp_path: Path) -> None:
    app = Harness(lambda: RosterScreen())
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, RosterScreen)
        await fill(pilot, "custodians", "Alice, Bob, Carol")
        await pilot.press("ctrl+n")
        await pilot.pause()
        error = re.sub(r"\s+", " ", screen_text(app))
        assert "User backup: choose which custodian receives its passphrase" in error
        assert "not a usable" not in error
        # The per-passphrase "needed" fields show the current Shares needed, not the one at start.
        await fill(pilot, "threshold", "3")
        await pilot.pause()
        screen = app.screen
        for kind in ("unlock", "admin", "backup"):
            assert screen.query_one(f"#k-{kind}", Input).placeholder == "3"
        await fill(pilot, "holder-0", "Bob!")
        await pilot.press("ctrl+n")
        await pilot.pause()
        error = re.sub(r"\s+", " ", screen_text(app))
        assert "User backup, given to: 'Bob!' is not a usable custodian name." in error


async def test_report_names_the_device_by_its_own_id(
    ctx: DeviceContext, emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    ceremony = Ceremony(CeremonyPlan.single_group(("Alice", "Bob"), 2))
    ceremony.generate()
    while (turn := ceremony.current_turn) is not None:
        ceremony.reveal(turn.custodian)
        challenge = ceremony.challenge(turn.custodian)
        pages = [s.text for s in turn.shares]
        typed = [
            pages[p.page].reveal_str().splitlines()[p.line - 1].split()[p.column - 1] for p in challenge.parts
        ]
        assert all(ceremony.confirm(turn.custodian, typed))
        ceremony.finish_turn(turn.custodian)
    outcome = await asyncio.to_thread(
        provision_and_report, ceremony, ctx.client, ctx.profile, data_dir=tmp_path, journal=ctx.journal,
        progress=lambda *_: None,
    )
    report = outcome.report_path.read_text()
    assert f"- Device id: {emulator.hsm.device_id}" in report
    verify = [e.event for e in ctx.journal.entries() if e.event.action == "ceremony.step.verify"]  # type: ignore[union-attr]
    assert emulator.hsm.device_id in verify[0].detail
