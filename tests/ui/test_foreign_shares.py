"""Shares of another ceremony (they fit together, but not this device): say so, not "wrong passphrase"."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import Input

from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.journal.chain import Journal
from hsmconsole.secrets import Secret
from screens.admin_session import AdminSessionScreen
from screens.base import DeviceContext, Sessions
from screens.dialogs import ErrorDialog
from screens.quorum_unlock import QuorumUnlockScreen
from tests.ui.conftest import ADMIN, LockedDevice
from tests.ui.textshot import Host, screen_text


def _foreign(kind: SecretKind) -> tuple[list[str], str]:
    shares = split_secret(Secret("a-passphrase-of-another-device"), threshold=2, count=3, kind=kind)
    return [encode_share(s).reveal_str() for s in shares[:2]], shares[0].set.set_id


async def _enter_all(pilot: Any, texts: list[str]) -> None:
    for text in texts:
        box = pilot.app.screen.query_one("#share", Input)
        box.value = text
        box.focus()
        await pilot.press("enter")
        await pilot.pause()
    await pilot.press("enter")
    # Not settle(): waiting on the failed worker itself would re-raise its (expected) error.
    for _ in range(1200):
        if isinstance(pilot.app.screen, ErrorDialog) and "OK" in screen_text(pilot.app):
            return  # shown and drawn
        await pilot.pause(0.05)
    raise AssertionError(screen_text(pilot.app))


def _ctx(device: LockedDevice, journal: Journal) -> DeviceContext:
    return DeviceContext(device.profile, device.client(), CredentialVault(), journal, True, Sessions())


async def test_unlock_shares_of_another_device_say_so(locked: LockedDevice, tmp_path: Any) -> None:
    texts, set_id = _foreign(SecretKind.UNLOCK)
    app = Host(lambda: QuorumUnlockScreen(_ctx(locked, Journal(tmp_path / "j.jsonl"))))
    async with app.run_test(size=(80, 24)) as pilot:
        await _enter_all(pilot, texts)
        assert isinstance(app.screen, ErrorDialog)
        shown = " ".join(screen_text(app).split())
        assert f"These unlock shares (set {set_id}" in shown and "do not open this device" in shown
        assert "role may not" not in shown and "wrong user name" not in shown


async def test_admin_shares_of_another_device_say_so(locked: LockedDevice, tmp_path: Any) -> None:
    client = DeviceClient(locked.profile)
    client.unlock(Secret("unlock-passphrase-for-ui-tests"))
    texts, set_id = _foreign(SecretKind.ADMIN)
    journal = Journal(tmp_path / "j.jsonl")
    app = Host(lambda: AdminSessionScreen(_ctx(locked, journal)))
    async with app.run_test(size=(80, 24)) as pilot:
        await _enter_all(pilot, texts)
        assert isinstance(app.screen, ErrorDialog)
        shown = " ".join(screen_text(app).split())
        assert f"These admin shares (set {set_id}" in shown and "do not open this device" in shown
        assert "wrong user name or passphrase" not in shown
    # The failure is journaled with the set id, never the shares.
    assert journal.entries()[-1].event.set_ids == (set_id,)
    time.sleep(1.1)  # the refused attempt is rate-limited for a second
    client.check_admin(Credentials("admin", Secret(ADMIN)))  # the device is as it was
