"""No field holding a share or passphrase copies, cuts or selects to the clipboard; Ctrl+C there aborts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Input

from hsmconsole.ceremony.plan import ChallengePart
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile
from screens.admin_session import AdminSessionScreen
from screens.backup_passphrase import BackupPassphraseScreen
from screens.base import DeviceContext, Sessions
from screens.ceremony.confirm import ConfirmScreen
from screens.ceremony.step import StepEnd
from screens.dialogs import PassphrasePrompt, TypedConfirm
from screens.quorum_unlock import QuorumUnlockScreen
from screens.widgets.secret_input import SecretInput
from tests.ui.textshot import Host, type_text

SIZE = (80, 24)
FP = "3F:A1:77:0C:9E:52:BD:10:44:6A:E8:21:CC:05:9B:73:18:F2:60:AA:4D:37:91:E5:0B:C8:7E:26:54:DA:13:8F"
TYPED = "hsmc1 abcde fghjk"  # shaped like the start of a share: nothing real


def _ctx() -> DeviceContext:
    # Nothing is sent before a quorum is complete, so an address nobody answers on is enough.
    profile = Profile("lab", "192.0.2.10:8443", fingerprint=FP)
    return DeviceContext(profile, DeviceClient(profile), CredentialVault(), None, False, Sessions())


def _confirm() -> ConfirmScreen:
    parts = [ChallengePart(0, "UNLOCK share", 2, 3, 5)]
    return ConfirmScreen("Alice", parts, lambda typed: [False], seal=lambda p, s: p)


SECRET_FIELDS: dict[str, tuple[Callable[[], Screen[Any]], str]] = {
    "quorum unlock share": (lambda: QuorumUnlockScreen(_ctx()), "share"),
    "admin share": (lambda: AdminSessionScreen(_ctx()), "share"),
    "backup passphrase share": (lambda: BackupPassphraseScreen(_ctx()), "share"),
    "confirmation group": (_confirm, "answer-0"),
    "passphrase prompt": (lambda: PassphrasePrompt("Administrator passphrase"), "passphrase"),
}


@pytest.mark.parametrize("where", sorted(SECRET_FIELDS))
async def test_nothing_typed_into_a_secret_field_reaches_the_clipboard(where: str) -> None:
    make, field = SECRET_FIELDS[where]
    copied: list[str] = []
    app = Host(make)
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign,assignment]
    async with app.run_test(size=SIZE) as pilot:
        box = app.screen.query_one(f"#{field}", Input)
        assert isinstance(box, SecretInput)
        box.focus()
        await type_text(pilot, TYPED)
        # Every way Textual 8's Input selects, copies or cuts, and the screen's own copy.
        for key in ("shift+home", "ctrl+shift+a", "ctrl+x", "shift+end", "shift+left", "super+c"):
            await pilot.press(key)
        await pilot.pause()
        assert box.value == TYPED  # nothing was cut out of it either
        assert box.selected_text == ""
        await app.screen.run_action("copy_text")
        box.action_copy()
        box.action_cut()
        assert copied == []
        assert app.clipboard == ""


@pytest.mark.parametrize("where", ["quorum unlock share", "admin share", "confirmation group"])
async def test_ctrl_c_in_a_share_field_asks_to_abort_with_the_typed_word(where: str) -> None:
    make, field = SECRET_FIELDS[where]
    copied: list[str] = []
    app = Host(make)
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign,assignment]
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one(f"#{field}", Input).focus()
        await type_text(pilot, TYPED)
        await pilot.press("shift+home", "ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)
        assert app.screen.word == "abort"
        assert copied == []
        await type_text(pilot, "abort")
        await pilot.press("enter")
        await pilot.pause()
        assert app.result in (False, StepEnd.ABORT)


async def test_ctrl_c_in_the_passphrase_prompt_cancels_it() -> None:
    app = Host(lambda: PassphrasePrompt("Administrator passphrase"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "notapassphrase")
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.result is None
