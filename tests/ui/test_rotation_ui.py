"""Rotation through the console (Pilot) against the emulator over HTTPS: hand-out, device change, recovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from hsmconsole.access.session import AdminSession
from hsmconsole.custody.envelope import read_envelope
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import AuthError
from hsmconsole.journal.chain import Journal
from hsmconsole.rotation import recover
from hsmconsole.secrets import Secret
from screens.base import DeviceContext, Sessions
from screens.dialogs import TypedConfirm
from screens.rotation.current import CurrentQuorumScreen
from screens.rotation.flow import RotationScreen
from screens.rotation.menu import CHOICES, RotationMenu
from screens.rotation.recovery import RecoveryScreen
from screens.rotation.target import TargetScreen
from tests.ui.test_ceremony_flow import (
    ENVELOPE_PASS,
    Harness,
    Recorder,
    custodian_turn,
    fill,
    screen_text,
    type_text,
    wait_for,
    wait_screen,
)

pytestmark = pytest.mark.slow

UNLOCK = "unlock-passphrase-for-rotation-ui"
ADMIN = "admin-passphrase-for-rotation-ui"


@pytest.fixture
def device(emulator: EmbeddedEmulator, tmp_path: Path) -> tuple[DeviceContext, list[str]]:
    profile = Profile("emu", emulator.host_port, emulator.fingerprint)
    client = DeviceClient(profile)
    client.provision(Secret(UNLOCK), Secret(ADMIN))
    sessions = Sessions()
    sessions.admin = AdminSession(Credentials("admin", Secret(ADMIN)))
    ctx = DeviceContext(
        profile, client, CredentialVault(), Journal(tmp_path / "journal.jsonl"), True, sessions
    )
    shares = split_secret(Secret(UNLOCK), threshold=2, count=3, kind=SecretKind.UNLOCK)
    return ctx, [encode_share(s).reveal_str() for s in shares]


async def _menu(pilot, choice: str = "device") -> None:  # type: ignore[no-untyped-def]
    await wait_screen(pilot, RotationMenu)
    options = pilot.app.screen.query_one(OptionList)
    options.highlighted = [key for key, _ in CHOICES].index(choice)
    await pilot.press("enter")


async def _quorum(pilot, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    await wait_screen(pilot, CurrentQuorumScreen)
    for text in texts:
        box = pilot.app.screen.query_one("#share", Input)
        box.value = text
        box.focus()
        await pilot.press("enter")
        await pilot.pause()
    await pilot.press("enter")


async def test_rotate_unlock_through_the_console(
    device: tuple[DeviceContext, list[str]], tmp_path: Path
) -> None:
    ctx, old = device
    app = Harness(lambda: RotationScreen(ctx))
    rec = Recorder()
    async with app.run_test(size=(80, 24)) as pilot:
        await _menu(pilot)
        await wait_screen(pilot, TargetScreen)
        await fill(pilot, "holders", "Bob, Dave")
        await fill(pilot, "threshold", "3")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert "cannot be met" in screen_text(app)  # refused before any share is typed
        await fill(pilot, "threshold", "2")
        await pilot.press("ctrl+n")
        await _quorum(pilot, old[:2])
        for name in ("Bob", "Dave"):
            seal = tmp_path / "bob.envelope" if name == "Bob" else None
            await custodian_turn(pilot, rec, name, mistype=name == "Dave", seal_to=seal)
        await wait_for(pilot, lambda: app.result is not False and app.result != "running", timeout=120)
        assert app.result is True
    # The new shares (from the custodians' paper) rebuild a passphrase the device takes; the old does not.
    collector = ShareCollector(SecretKind.UNLOCK)
    for name in ("Bob", "Dave"):
        (text,) = rec.paper[name].values()
        collector.add(Secret(text))
    new = collector.combine()
    admin = Credentials("admin", Secret(ADMIN))
    ctx.client.set_unlock_passphrase(admin, Secret(new.reveal()), new)
    with pytest.raises(AuthError):
        ctx.client.set_unlock_passphrase(admin, Secret(UNLOCK), Secret(UNLOCK))
    assert ctx.journal is not None
    assert recover.pending(ctx.journal, "emu") == []
    assert UNLOCK not in ctx.journal.path.read_text()
    # Bob's optional envelope holds exactly his new share.
    (sealed,) = read_envelope(tmp_path / "bob.envelope", Secret(ENVELOPE_PASS))
    assert sealed.set.generation == 2 and sealed.fingerprint in ctx.journal.path.read_text()


async def test_abort_during_handout_voids_new_shares_and_recovery_is_offered(
    device: tuple[DeviceContext, list[str]],
) -> None:
    ctx, old = device
    app = Harness(lambda: RotationScreen(ctx))
    rec = Recorder()
    async with app.run_test(size=(80, 24)) as pilot:
        await _menu(pilot)
        await wait_screen(pilot, TargetScreen)
        pilot.app.screen.query_one("#kind").focus()
        await fill(pilot, "holders", "Bob, Carol, Dave")
        await fill(pilot, "threshold", "2")
        await pilot.press("ctrl+n")
        await _quorum(pilot, old[1:3])
        await custodian_turn(pilot, rec, "Bob")
        await wait_for(pilot, lambda: "Hand the keyboard to" in screen_text(app))
        await pilot.press("escape")
        await wait_screen(pilot, TypedConfirm)
        assert "Abort the rotation?" in screen_text(app) and "Unprovisioned" not in screen_text(app)
        await type_text(pilot, "abort")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result is False)
    assert ctx.journal is not None
    assert recover.pending(ctx.journal, "emu") == []  # the journal says: discarded
    ctx.client.set_unlock_passphrase(Credentials("admin", Secret(ADMIN)), Secret(UNLOCK), Secret(UNLOCK))


async def test_recovery_screen_discards_a_rotation_killed_before_the_device(
    device: tuple[DeviceContext, list[str]],
) -> None:
    ctx, old = device
    from hsmconsole.rotation import run

    collector = ShareCollector(SecretKind.UNLOCK)
    for text in old[:2]:
        collector.add(Secret(text))
    rotation, recorder = run.start_rotation(
        SecretKind.UNLOCK,
        collector,
        ["Bob", "Carol"],
        2,
        ctx.client,
        admin=Credentials("admin", Secret(ADMIN)),
        journal=ctx.journal,
        device_id="emu",
    )
    run.generate(rotation, recorder)
    rotation.wipe()  # killed here
    app = Harness(lambda: RotationScreen(ctx))
    async with app.run_test(size=(80, 24)) as pilot:
        await _menu(pilot)
        await wait_screen(pilot, RecoveryScreen)
        text = screen_text(app)
        assert "Valid now: set" in text and "generation 1" in text
        await pilot.press("enter")
        await wait_screen(pilot, TypedConfirm)
        await type_text(pilot, "discard")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result is not None and app.result != "running")
    assert ctx.journal is not None
    assert recover.pending(ctx.journal, "emu") == []


async def test_dashboard_offers_rotation_and_shows_credential_ages(
    device: tuple[DeviceContext, list[str]], tmp_path: Path
) -> None:
    from hsmconsole.device.profiles import ProfileStore
    from hsmconsole.journal.chain import JournalEvent, Outcome
    from screens.app import HsmConsoleApp
    from screens.dashboard import DashboardScreen
    from tests.ui.conftest import settle

    ctx, _ = device
    assert ctx.journal is not None
    ctx.journal.append(JournalEvent("ceremony", "ceremony.provisioned", Outcome.OK, device_id="emu"))
    app = HsmConsoleApp(store=ProfileStore(tmp_path / "config"), profile=ctx.profile, journal=ctx.journal,
                        emulator=True, keyring_notice=False)  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dash = pilot.app.screen
        assert isinstance(dash, DashboardScreen)
        text = screen_text(app)
        assert "Ages     unlock 0 d, admin 0 d, backup 0 d, tls 0 d (limit 365 d)" in text
        # The list scrolls at 80x24 (thirteen entries): the entry is in it, offered, not dimmed.
        from textual.widgets import OptionList

        listed = dash.query_one("#actions", OptionList)
        rotate = listed.get_option("rotate")
        assert "Credential rotation" in str(rotate.prompt) and not rotate.disabled
        dash.run_action_id("rotate")
        await _menu(pilot)
        await wait_screen(pilot, TargetScreen)
        await pilot.press("escape")  # nothing generated yet: a plain abort
        await wait_screen(pilot, TypedConfirm)
        assert "Abort the rotation?" in screen_text(app) and "Nothing was generated" in screen_text(app)
        await type_text(pilot, "abort")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen))


async def test_user_passphrases_from_the_console(
    device: tuple[DeviceContext, list[str]], tmp_path: Path
) -> None:
    from hsmconsole.models import UserRole
    from screens.rotation.users import UserRotationScreen

    ctx, _ = device
    admin = Credentials("admin", Secret(ADMIN))
    ctx.client.add_user(admin, "op1", "Op One", UserRole.OPERATOR, Secret("op1-old-passphrase"))
    app = Harness(lambda: RotationScreen(ctx))
    async with app.run_test(size=(80, 24)) as pilot:
        await _menu(pilot, "users")
        await wait_screen(pilot, UserRotationScreen)
        await fill(pilot, "which", "op1")
        await pilot.press("ctrl+n")
        await wait_screen(pilot, TypedConfirm)
        await type_text(pilot, "rotate")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "New passphrases: op1." in screen_text(app))
        screen = pilot.app.screen
        assert isinstance(screen, UserRotationScreen) and screen.report is not None
        shown = screen.report.outcomes[0].passphrase
        assert shown is not None
        new = shown.reveal_str()
        assert new[:20] in screen_text(app)  # shown once, here
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.result is True)
        assert shown.wiped
    assert ctx.client.check_user(Credentials("op1", Secret(new))).role is UserRole.OPERATOR


async def test_tls_key_from_the_console_then_pinned(
    device: tuple[DeviceContext, list[str]], emulator: EmbeddedEmulator
) -> None:
    from screens.rotation.tls import TlsRotationScreen

    ctx, _ = device
    old = ctx.profile.fingerprint
    app = Harness(lambda: RotationScreen(ctx))
    async with app.run_test(size=(80, 24)) as pilot:
        await _menu(pilot, "tls")
        await wait_screen(pilot, TlsRotationScreen)
        await fill(pilot, "arg", "EC_P384")
        await pilot.press("ctrl+n")
        await wait_screen(pilot, TypedConfirm)
        await type_text(pilot, "tls")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "New SHA-256" in screen_text(app))
        new = emulator.fingerprint
        assert new != old and new[:47] in screen_text(app)
        await fill(pilot, "compare", "00000000")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: any("does not match" in n.message for n in app._notifications))
        assert ctx.profile.fingerprint == old
        await fill(pilot, "compare", new[-11:])
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "Pinned:" in screen_text(app))
        assert ctx.profile.fingerprint == new
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.result is True)
    assert ctx.client.state().value == "Operational"  # the context's client follows the new pin


async def test_quorum_unlock_refuses_a_share_the_rotation_voided(
    device: tuple[DeviceContext, list[str]],
) -> None:
    """After the rotation, Alice's old share is refused as void as she types it, on the console's
    own quorum unlock screen (the journal says generation 1 was rotated away)."""
    from screens.quorum_unlock import QuorumUnlockScreen

    ctx, old = device
    app = Harness(lambda: RotationScreen(ctx))
    rec = Recorder()
    async with app.run_test(size=(80, 24)) as pilot:
        await _menu(pilot)
        await wait_screen(pilot, TargetScreen)
        await fill(pilot, "holders", "Bob, Dave")
        await fill(pilot, "threshold", "2")
        await pilot.press("ctrl+n")
        await _quorum(pilot, old[:2])
        for name in ("Bob", "Dave"):
            await custodian_turn(pilot, rec, name)
        await wait_for(pilot, lambda: app.result is True, timeout=120)
    ctx.client.lock(Credentials("admin", Secret(ADMIN)))
    app2 = Harness(lambda: QuorumUnlockScreen(ctx))
    async with app2.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, QuorumUnlockScreen)
        box = pilot.app.screen.query_one("#share", Input)
        box.value = old[0]
        await pilot.press("enter")
        await pilot.pause()
        assert "is void" in screen_text(app2) and "rotated to generation 2" in screen_text(app2)
        for name in ("Dave", "Bob"):
            (text,) = rec.paper[name].values()
            box.value = text
            box.focus()
            await pilot.press("enter")
            await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app2.result is True, timeout=60)
    assert ctx.client.state().value == "Operational"
