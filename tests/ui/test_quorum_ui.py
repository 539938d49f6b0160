"""Quorum unlock and admin session through the UI, against the emulator over HTTPS."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from textual.widgets import Input, Static

from hsmconsole.custody.shares import SecretKind, decode_share, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from screens.app import HsmConsoleApp
from screens.backup_passphrase import BackupPassphraseScreen
from screens.dashboard import DashboardScreen
from screens.dialogs import ErrorDialog
from screens.quorum_unlock import QuorumUnlockScreen
from tests.ui.conftest import ADMIN, LockedDevice, RecordingClient, settle


def _app(device: LockedDevice, store: ProfileStore, clients: list[RecordingClient]) -> HsmConsoleApp:
    def factory(profile):  # type: ignore[no-untyped-def]
        client = RecordingClient(profile)
        clients.append(client)
        return client

    return HsmConsoleApp(store=store, client_factory=factory, profile=device.profile, emulator=True)


async def _enter(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    box = pilot.app.screen.query_one("#share", Input)
    box.value = text
    box.focus()
    await pilot.press("enter")
    await pilot.pause()


def _error_text(pilot) -> str:  # type: ignore[no-untyped-def]
    return str(pilot.app.screen.query_one("#share-error", Static).render())


async def _open_unlock(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    assert isinstance(pilot.app.screen, DashboardScreen)
    status = pilot.app.screen.status
    assert status is not None and status.state is DeviceState.LOCKED
    await pilot.press("u")
    await pilot.pause()
    assert isinstance(pilot.app.screen, QuorumUnlockScreen)


@pytest.mark.slow
async def test_quorum_unlock_with_any_two_shares(locked: LockedDevice, store: ProfileStore) -> None:
    clients: list[RecordingClient] = []
    app = _app(locked, store, clients)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_unlock(pilot)
        await _enter(pilot, locked.unlock_shares[2])
        assert "1 of 2" in str(pilot.app.screen.query_one("#progress-text", Static).render())
        assert pilot.app.screen.query_one("#share", Input).value == ""  # never kept in the widget
        await _enter(pilot, locked.unlock_shares[0])
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DashboardScreen)
        await settle(pilot)
        status = pilot.app.screen.status
        assert status is not None and status.state is DeviceState.OPERATIONAL
    assert clients[0].calls == ["unlock"]
    assert locked.emulator.requests("POST", "/unlock") == 1  # the device received one unlock
    assert locked.client().state() is DeviceState.OPERATIONAL


async def test_typo_mixed_short_and_forged_sets_never_reach_the_device(
    locked: LockedDevice, store: ProfileStore
) -> None:
    clients: list[RecordingClient] = []
    app = _app(locked, store, clients)
    other_split = [
        encode_share(s).reveal_str()
        for s in split_secret(Secret("unlock-passphrase-for-ui-tests"), threshold=2, count=3)
    ]
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_unlock(pilot)
        # A typo: located, refused.
        good = locked.unlock_shares[0]
        pos = good.index(" ", 8) + 1
        typo = good[:pos] + ("Z" if good[pos] != "Z" else "Y") + good[pos + 1 :]
        await _enter(pilot, typo)
        assert "group 3" in _error_text(pilot)
        # Short: one share, Enter on the finished prompt does nothing.
        await _enter(pilot, good)
        await pilot.press("enter")  # input is empty: refused as no share, nothing combined
        await settle(pilot)
        assert "no share was entered" in _error_text(pilot)
        # Mixed: a share of another split of the same passphrase.
        await _enter(pilot, other_split[1])
        assert "belongs to set" in _error_text(pilot)
        # The same share twice.
        await _enter(pilot, good)
        assert "already entered" in _error_text(pilot)
        # An admin share where unlock shares are asked for.
        await _enter(pilot, locked.admin_shares[1])
        assert "admin passphrase" in _error_text(pilot)
        assert isinstance(pilot.app.screen, QuorumUnlockScreen)
        # Forged: valid checksums, altered payload: the commitment check refuses it on combine.
        forged_share = decode_share(locked.unlock_shares[1])
        payload = bytearray(forged_share.payload.reveal())
        payload[0] ^= 0x01
        forged = encode_share(replace(forged_share, payload=Secret(bytes(payload)))).reveal_str()
        await _enter(pilot, forged)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ErrorDialog)
        assert "commitment" in pilot.app.screen.err.title
    assert clients[0].calls == []  # nothing was sent
    assert locked.emulator.requests("POST", "/unlock") == 0
    assert locked.client().state() is DeviceState.LOCKED


async def test_admin_session_from_shares_then_typed_lock(unlocked: LockedDevice, store: ProfileStore) -> None:
    clients: list[RecordingClient] = []
    app = _app(unlocked, store, clients)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        await _enter(pilot, unlocked.admin_shares[0])
        await _enter(pilot, unlocked.admin_shares[1])
        await pilot.press("enter")
        await settle(pilot)
        dash = pilot.app.screen
        assert isinstance(dash, DashboardScreen)
        await settle(pilot)
        assert dash.ctx.sessions.admin is not None and dash.ctx.sessions.admin.open
        assert dash.status is not None and dash.status.counts is not None
        await pilot.press("l")
        await pilot.pause()
        for word in ("lokc", "lock"):  # a wrong word does nothing
            box = pilot.app.screen.query_one("#confirm-word", Input)
            box.value = word
            await pilot.press("enter")
            await settle(pilot)
            if word == "lokc":
                assert unlocked.client().state() is DeviceState.OPERATIONAL
        assert isinstance(pilot.app.screen, DashboardScreen)
        await settle(pilot)
        assert dash.ctx.sessions.admin is None  # locking closes the session
    assert unlocked.client().state() is DeviceState.LOCKED
    assert clients[0].calls == ["check_admin"]


@pytest.mark.slow
async def test_idle_admin_session_is_forgotten(unlocked: LockedDevice, store: ProfileStore) -> None:
    app = HsmConsoleApp(store=store, profile=unlocked.profile, emulator=True, idle_timeout=1.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        await _enter(pilot, unlocked.admin_shares[0])
        await _enter(pilot, unlocked.admin_shares[1])
        await pilot.press("enter")
        await settle(pilot)
        dash = pilot.app.screen
        assert isinstance(dash, DashboardScreen)
        session = dash.ctx.sessions.admin
        assert session is not None and session.open
        # Nothing uses the session for longer than the timeout: the dashboard's watch forgets it.
        await pilot.pause(3.0)
        assert dash.ctx.sessions.admin is None or not dash.ctx.sessions.admin.open
        assert not session.open
        assert any("forgotten" in n.message for n in app._notifications)


@pytest.mark.slow
async def test_backup_passphrase_from_shares_finishes_a_stopped_ceremony(
    unlocked: LockedDevice, store: ProfileStore
) -> None:
    # A ceremony that stopped right after provisioning: no backup passphrase on the device yet.
    backup = "backup-passphrase-from-a-ceremony"
    backup_shares = [
        encode_share(s).reveal_str()
        for s in split_secret(Secret(backup), threshold=2, count=3, kind=SecretKind.BACKUP)
    ]
    clients: list[RecordingClient] = []
    app = _app(unlocked, store, clients)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dash = pilot.app.screen
        assert isinstance(dash, DashboardScreen)
        # Without an admin session the action is dimmed, and says why.
        dash.run_action_id("backup-passphrase")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DashboardScreen)
        assert any("needs an admin session" in n.message for n in app._notifications)
        await pilot.press("a")
        await pilot.pause()
        await _enter(pilot, unlocked.admin_shares[0])
        await _enter(pilot, unlocked.admin_shares[1])
        await pilot.press("enter")
        await settle(pilot)
        dash.run_action_id("backup-passphrase")
        await pilot.pause()
        assert isinstance(pilot.app.screen, BackupPassphraseScreen)
        # An unlock share is refused here before anything is sent.
        await _enter(pilot, unlocked.unlock_shares[0])
        assert "Refused" in _error_text(pilot)
        await _enter(pilot, backup_shares[2])
        await _enter(pilot, backup_shares[0])
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DashboardScreen)
    assert clients[0].calls.count("set_backup_passphrase") == 1
    # The device now has exactly that backup passphrase: changing it with it as current works.
    admin = Credentials("admin", Secret(ADMIN))
    unlocked.client().set_backup_passphrase(admin, Secret("another-backup-pp"), Secret(backup))


def _typo(text: str, group: int) -> str:
    words = text.split()
    bad = words[group - 1]
    words[group - 1] = ("Z" if bad[0] != "Z" else "Y") + bad[1:]
    return " ".join(words)


async def test_a_refused_typo_stays_in_the_hidden_input_for_correction(
    locked: LockedDevice, store: ProfileStore
) -> None:
    clients: list[RecordingClient] = []
    app = _app(locked, store, clients)
    good = locked.unlock_shares[0]
    typo = _typo(good, 9)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_unlock(pilot)
        await _enter(pilot, typo)
        box = pilot.app.screen.query_one("#share", Input)
        assert "group 9" in _error_text(pilot)
        # Kept, still masked, with the cursor on the first character of group 9.
        assert box.value == typo and box.password
        assert box.cursor_position == typo.index(typo.split()[8])
        assert typo.split()[8] not in "\n".join(s.text for s in pilot.app.screen._compositor.render_strips())
        # Ctrl+R shows it to find the typo; correcting one character is enough.
        await pilot.press("ctrl+r")
        assert not box.password
        await pilot.press("delete")
        await pilot.press(*good.split()[8][0].lower())
        await pilot.press("enter")
        await pilot.pause()
        assert "1 of 2" in str(pilot.app.screen.query_one("#progress-text", Static).render())
        # Accepted: the text is gone, and the next custodian starts hidden again.
        assert box.value == "" and box.password
        # A share of another secret is no typo: nothing to correct, so it is not kept.
        await _enter(pilot, locked.admin_shares[1])
        assert "admin passphrase" in _error_text(pilot) and box.value == ""
    assert clients[0].calls == []


@pytest.mark.parametrize("case", ["wrong-kind", "typo", "short", "mixed", "forged"])
async def test_wrong_short_or_mixed_share_sets_never_reach_the_emulator(
    case: str, locked: LockedDevice, store: ProfileStore
) -> None:
    clients: list[RecordingClient] = []
    app = _app(locked, store, clients)
    other_split = [
        encode_share(s).reveal_str()
        for s in split_secret(Secret("unlock-passphrase-for-ui-tests"), threshold=2, count=3)
    ]
    forged_share = decode_share(locked.unlock_shares[1])
    payload = bytearray(forged_share.payload.reveal())
    payload[0] ^= 0x01
    forged = encode_share(replace(forged_share, payload=Secret(bytes(payload)))).reveal_str()
    sets: dict[str, list[str]] = {
        "wrong-kind": locked.admin_shares[:2],
        "typo": [locked.unlock_shares[0], _typo(locked.unlock_shares[1], 4)],
        "short": [locked.unlock_shares[0]],
        "mixed": [locked.unlock_shares[0], other_split[1]],
        "forged": [locked.unlock_shares[0], forged],
    }
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_unlock(pilot)
        for text in sets[case]:
            await _enter(pilot, text)
        screen: Any = pilot.app.screen
        if case != "forged":
            assert screen.check_action("finish", ()) is None  # no quorum: Enter does nothing
            # Enter must reach the screen's "Go ahead", not the share input (which would only
            # take it as another, empty, share): take the focus off the input first.
            screen.set_focus(None)
            await pilot.pause()
            assert pilot.app.focused is None
            await pilot.press("enter")
            screen.action_finish()  # the action itself refuses too, whatever calls it
        else:
            assert pilot.app.focused is None  # quorum reached: the input is done, Enter goes ahead
            await pilot.press("enter")
        await settle(pilot)
        if case == "forged":
            assert isinstance(pilot.app.screen, ErrorDialog)
            assert "commitment" in pilot.app.screen.err.title
        else:
            assert isinstance(pilot.app.screen, QuorumUnlockScreen)
    assert locked.emulator.requests("POST", "/unlock") == 0  # the device never saw an unlock
    assert clients[0].calls == []
    assert locked.client().state() is DeviceState.LOCKED


async def test_a_kept_typo_is_cleared_before_the_keyboard_changes_hands(
    locked: LockedDevice, store: ProfileStore
) -> None:
    app = _app(locked, store, [])
    typo = _typo(locked.unlock_shares[0], 9)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_unlock(pilot)
        await _enter(pilot, typo)
        box = pilot.app.screen.query_one("#share", Input)
        assert "Ctrl+L clears it before you hand over" in _error_text(pilot)
        await pilot.press("ctrl+r")  # the owner looked at it...
        await _enter(pilot, typo)
        assert "SHOWN (Ctrl+R hides it)" in _error_text(pilot)  # ...and is told it is visible
        await pilot.press("ctrl+l")
        # Nothing of it is left for the next custodian to reveal with Ctrl+R.
        assert box.value == "" and box.password and _error_text(pilot).strip() == ""
