"""Every dialog's text field shows what is typed into it at 80x24 (a field must not collapse to its box)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Input

from screens.connect import AddProfileDialog
from screens.dialogs import PassphrasePrompt, TypedConfirm
from tests.ui.textshot import Host, screen_text, type_text

DIALOGS: dict[str, tuple[Callable[[], Screen[Any]], list[str]]] = {
    "typed confirmation": (lambda: TypedConfirm("Start the ceremony?", "It ends by provisioning.",
                                                 "provision"), ["confirm-word"]),
    "sign in": (lambda: PassphrasePrompt("Sign in", user_id=""), ["user-id"]),
    "add connection": (AddProfileDialog, ["name", "host"]),
}


@pytest.mark.parametrize("which", sorted(DIALOGS))
async def test_typed_text_is_visible_in_every_dialog_field(which: str) -> None:
    make, fields = DIALOGS[which]
    app = Host(make)
    async with app.run_test(size=(80, 24)) as pilot:
        for n, field in enumerate(fields):
            box = app.screen.query_one(f"#{field}", Input)
            box.focus()
            await type_text(pilot, f"provison{n}")  # the typo a person must be able to see
            await pilot.pause()
            assert box.content_region.height == 1
            assert f"provison{n}" in screen_text(app)
