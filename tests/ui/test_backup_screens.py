"""The backup screens through Pilot against the emulator: make, inspect, rehearse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.secrets import Secret
from screens.app import HsmConsoleApp
from screens.backup.backup_shares import BackupSharesScreen
from screens.backup.form import BackupForm
from screens.backup.inspect import InspectBackupScreen
from screens.backup.make import MakeBackupScreen
from screens.backup.menu import BackupMenuScreen
from screens.backup.rehearse import RehearseScreen
from screens.backup.rehearse_quorum import RehearseQuorumScreen
from screens.dashboard import DashboardScreen
from tests.integration.backup_setup import ADMIN, BACKUP, BACKUP_USER, UNLOCK, prepare
from tests.ui.conftest import settle

pytestmark = pytest.mark.slow


@pytest.fixture
def operational(store: ProfileStore) -> Iterator[Profile]:
    with EmbeddedEmulator() as emu:
        dev = prepare(emu)
        store.save(dev.profile)
        yield dev.profile


async def _open(pilot: Pilot[Any], choice: str) -> BackupForm:
    await settle(pilot)
    dash = pilot.app.screen
    assert isinstance(dash, DashboardScreen)
    options = dash.query_one("#actions", OptionList)
    options.highlighted = next(i for i, a in enumerate(dash.actions) if a.id == "backup")
    await pilot.press("enter")
    await settle(pilot)
    menu = pilot.app.screen
    assert isinstance(menu, BackupMenuScreen)
    menu_list = menu.query_one(OptionList)
    menu_list.highlighted = [o.id for o in menu_list.options].index(choice)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, BackupForm)
    return pilot.app.screen


async def _fill(pilot: Pilot[Any], screen: BackupForm, values: dict[str, str]) -> str:
    for field_id, value in values.items():
        screen.query_one(f"#f-{field_id}", Input).value = value
    screen.action_run()
    await settle(pilot)
    for f in screen.FIELDS:
        if f.secret:  # secrets leave the widgets as soon as they are read
            assert screen.query_one(f"#f-{f.id}", Input).value == ""
    return str(screen.query_one("#result", Static).render())


async def test_make_inspect_and_rehearse(operational: Profile, store: ProfileStore, tmp_path: Path) -> None:
    app = HsmConsoleApp(store=store, vault=CredentialVault(), profile=operational, emulator=True,
                        keyring_notice=False)  # fmt: skip
    out = tmp_path / "backups"
    async with app.run_test(size=(80, 24)) as pilot:
        make = await _open(pilot, "make")
        assert isinstance(make, MakeBackupScreen)
        text = await _fill(pilot, make, {"user": "backup1", "passphrase": BACKUP_USER, "dir": str(out),
                                         "backup": BACKUP})  # fmt: skip
        assert "Written:" in text and "framing and contents" in text
        (made,) = out.glob("*.nethsm-backup")
        assert os.stat(made).st_mode & 0o777 == 0o600
        svg = app.export_screenshot()
        assert BACKUP_USER not in svg and BACKUP not in svg

        # Ctrl+B: the contents are checked with the backup passphrase combined from 2 of 3 shares.
        for field_id, value in {"passphrase": BACKUP_USER, "dir": str(tmp_path / "by-shares")}.items():
            make.query_one(f"#f-{field_id}", Input).value = value
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert isinstance(_current(pilot), BackupSharesScreen)
        for share in _shares(BACKUP, SecretKind.BACKUP)[:2]:
            await _enter_share(pilot, share)
        await pilot.press("enter")
        await settle(pilot)
        assert _current(pilot) is make
        text = str(make.query_one("#result", Static).render())
        assert "Written:" in text and "framing and contents" in text, text
        assert make.query_one("#f-passphrase", Input).value == ""
        await pilot.press("escape")
        await settle(pilot)

        inspect = await _open_from_menu(pilot, "inspect")
        assert isinstance(inspect, InspectBackupScreen)
        text = await _fill(pilot, inspect, {"file": str(made), "backup": BACKUP, "unlock": UNLOCK})
        assert "key0" in text and "Curve25519" in text and "backup1" in text
        assert "PRIVATE" not in app.export_screenshot()
        await pilot.press("escape")
        await settle(pilot)

        rehearse = await _open_from_menu(pilot, "rehearse")
        assert isinstance(rehearse, RehearseScreen)
        text = await _fill(pilot, rehearse, {"file": str(made), "backup": BACKUP, "unlock": UNLOCK,
                                             "admin": ADMIN})  # fmt: skip
        assert "Rehearsal PASSED." in text, text

        wrong = await _fill(pilot, rehearse, {"file": str(made), "backup": "not the passphrase",
                                              "unlock": UNLOCK})  # fmt: skip
        assert "FAILED" in wrong and "backup passphrase does not open" in wrong

        # Backup and unlock left empty: the custodians enter their shares one at a time, as on
        # the day: first the backup passphrase's, then the unlock passphrase's.
        await _fill(pilot, rehearse, {"file": str(made), "admin": ADMIN})
        assert isinstance(_current(pilot), BackupSharesScreen)
        backup = _shares(BACKUP, SecretKind.BACKUP)
        await _enter_share(pilot, backup[1])
        await _enter_share(pilot, backup[1])  # the same share twice counts once
        assert "already entered" in _error(pilot)
        await _enter_share(pilot, backup[0])
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(_current(pilot), RehearseQuorumScreen)
        for share in _shares(UNLOCK, SecretKind.UNLOCK)[1:]:
            await _enter_share(pilot, share)
        await pilot.press("enter")
        await settle(pilot)
        assert _current(pilot) is rehearse
        text = str(rehearse.query_one("#result", Static).render())
        assert "Rehearsal PASSED." in text, text


async def _open_from_menu(pilot: Pilot[Any], choice: str) -> BackupForm:
    menu = pilot.app.screen
    assert isinstance(menu, BackupMenuScreen)
    menu_list = menu.query_one(OptionList)
    menu_list.highlighted = [o.id for o in menu_list.options].index(choice)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, BackupForm)
    return pilot.app.screen


async def _enter_share(pilot: Pilot[Any], text: str) -> None:
    box = pilot.app.screen.query_one("#share", Input)
    box.value = text
    box.focus()
    await pilot.press("enter")
    await pilot.pause()


async def test_restore_wizard_after_factory_reset(store: ProfileStore, tmp_path: Path) -> None:
    """Back up, factory-reset, then the wizard: plan, typed word, full restore (re-pinned to the
    backup's certificate, profile saved), quorum unlock, admin session, inventory check."""
    from hsmconsole.backup.create import create_backup
    from hsmconsole.journal.chain import Journal
    from screens.admin_session import AdminSessionScreen
    from screens.backup.restore import RestoreScreen
    from screens.dialogs import TypedConfirm
    from screens.quorum_unlock import QuorumUnlockScreen
    from tests.integration.backup_setup import backup_user
    from tests.integration.test_backup_restore import _factory_reset

    shares = _shares
    with EmbeddedEmulator() as emu:
        dev = prepare(emu)
        made = create_backup(dev.client(), backup_user(), tmp_path / "b").path
        _factory_reset(dev)
        store.save(dev.profile)
        journal = Journal(tmp_path / "journal.jsonl")
        app = HsmConsoleApp(store=store, vault=CredentialVault(), profile=dev.profile, emulator=True,
                            keyring_notice=False, journal=journal)  # fmt: skip
        async with app.run_test(size=(80, 24)) as pilot:
            await _open(pilot, "inspect")  # through the menu: back to it, then the wizard
            await pilot.press("escape")
            await settle(pilot)
            wizard = await _open_from_menu(pilot, "restore")
            assert isinstance(wizard, RestoreScreen)
            # The backup passphrase field left empty: the backup custodians enter their shares.
            await _fill(pilot, wizard, {"file": str(tmp_path / "no-such.nethsm-backup")})
            assert _current(pilot) is wizard  # a wrong path: no custodian is called to the keyboard
            await _fill(pilot, wizard, {"file": str(made)})
            assert isinstance(pilot.app.screen, BackupSharesScreen)
            backup = shares(BACKUP, SecretKind.BACKUP)
            await _enter_share(pilot, shares(UNLOCK, SecretKind.UNLOCK)[0])  # another secret kind
            assert "share of the unlock passphrase" in _error(pilot)
            await _enter_share(pilot, backup[0])
            await _enter_share(pilot, shares(BACKUP, SecretKind.BACKUP)[1])  # another set (a new split)
            assert "belongs to set" in _error(pilot)
            assert "1 of 2 shares entered" in _progress(pilot)
            assert emu.requests("POST", "/system/restore") == 0 and list(journal.entries()) == []
            await _enter_share(pilot, backup[2])
            await pilot.press("enter")
            await settle(pilot)
            assert _current(pilot) is wizard
            text = str(wizard.query_one("#result", Static).render())
            assert "Full restore onto an Unprovisioned device" in text, text
            assert wizard.passphrase is not None  # held, combined, until the restore is sent
            combined = wizard.passphrase
            wizard.action_run()
            await settle(pilot)
            assert isinstance(pilot.app.screen, TypedConfirm)
            await pilot.press(*"restore", "enter")
            await settle(pilot)
            text = str(wizard.query_one("#result", Static).render())
            assert "the device is Locked" in text and "Now pinned" in text
            assert wizard.passphrase is None and combined.wiped  # the combined secret is gone
            assert emu.requests("POST", "/system/restore") == 1
            assert store.get(dev.profile.name).fingerprint == emu.fingerprint  # the backup's certificate

            wizard.action_run()
            await settle(pilot)
            assert isinstance(pilot.app.screen, QuorumUnlockScreen)
            unlock = shares(UNLOCK, SecretKind.UNLOCK)
            await _enter_share(pilot, unlock[0])
            await _enter_share(pilot, unlock[2])
            await pilot.press("enter")
            await settle(pilot)
            assert _current(pilot) is wizard

            wizard.action_run()  # inventory check: asks for an admin session first
            await settle(pilot)
            assert isinstance(pilot.app.screen, AdminSessionScreen)
            admin = shares(ADMIN, SecretKind.ADMIN)
            await _enter_share(pilot, admin[1])
            await _enter_share(pilot, admin[0])
            await pilot.press("enter")
            await settle(pilot)
            assert _current(pilot) is wizard
            text = str(wizard.query_one("#result", Static).render())
            assert "Inventory OK" in text, text
            assert BACKUP not in app.export_screenshot()
        actions = [e.event.action for e in journal.entries()]
        assert actions[:2] == ["backup.restore", "unlock"] and actions[-1] == "backup.restore.check"


def _error(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#share-error", Static).render())


def _progress(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#progress-text", Static).render())


def _current(pilot: Pilot[Any]) -> object:
    """The screen on top, typed loosely: it changes between awaits, whatever mypy narrowed."""
    return pilot.app.screen


def _shares(secret: str, kind: SecretKind) -> list[str]:
    split = split_secret(Secret(secret), threshold=2, count=3, kind=kind)
    return [encode_share(s).reveal_str() for s in split]
