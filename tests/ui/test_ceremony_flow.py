"""Pilot: whole provisioning ceremonies against the built-in emulator over HTTPS, then quorum unlock."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from hsmconsole.client import Credentials, DeviceClient
from hsmconsole.config import Profile
from hsmconsole.credentials import CredentialVault
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.envelope import KdfParams, read_envelope
from hsmconsole.journal import Journal, verify_journal
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from hsmconsole.shares import SecretKind, combine_shares, decode_share
from screens.base import DeviceContext, Sessions, quit_refusal
from screens.ceremony import CeremonyScreen
from screens.ceremony_confirm import ConfirmScreen
from screens.ceremony_handoff import HandoffScreen
from screens.ceremony_progress import ProvisioningScreen, RunState
from screens.ceremony_reveal import RevealScreen
from screens.ceremony_review import ReviewScreen
from screens.ceremony_roster import RosterScreen
from screens.dialogs import ErrorDialog, TypedConfirm

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


async def wait_for(pilot: Pilot[Any], cond: Callable[[], bool], timeout: float = 60) -> None:
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
    if mistype:
        await type_text(pilot, "AAAAA AAAAA")
        await pilot.press("enter")
        await pilot.pause()
        assert "does not match" in screen_text(app)
        rec.look(app)
    await type_text(pilot, answer(confirm.question, paper))
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


def answer(question: str, paper: dict[str, str]) -> str:
    """Read the question as a custodian would and pick the groups from the paper copy."""
    kind = re.search(r"your (\w+) share", question)
    assert kind is not None, question
    text = next(v for k, v in paper.items() if kind.group(1) in k)
    lines = [line.split() for line in text.splitlines()]
    picks = re.findall(r"line (\d+), (\d)\w\w group", question)
    assert len(picks) == 2, question
    return " ".join(lines[int(line) - 1][int(col) - 1] for line, col in picks)


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
    await wait_for(pilot, lambda: progress.state in (RunState.DONE, RunState.STOPPED), timeout=120)
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

    # Lock with the admin passphrase from two admin shares, then a quorum unlock in the console.
    client.lock(Credentials("admin", admin))
    assert client.state() is DeviceState.LOCKED
    from screens.quorum_unlock import QuorumUnlockScreen

    unlock_shares = shares_of(rec, SecretKind.UNLOCK)
    app2 = Harness(lambda: QuorumUnlockScreen(ctx))
    async with app2.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, QuorumUnlockScreen)
        for name in ("Carol", "Bob"):
            box = app2.screen.query_one("#share", Input)
            box.value = unlock_shares[name].replace("\n", " ")
            await pilot.press("enter")
            await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app2.result != "running")
        assert app2.result is True
    assert client.state() is DeviceState.OPERATIONAL


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
