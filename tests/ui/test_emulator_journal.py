"""In emulator mode lock, unlock and admin sessions are journaled too: in a throwaway 0700 journal."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import Input

from hsmconsole.commands.tui import scratch_journal
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.journal.chain import Journal, Outcome, record
from screens.app import HsmConsoleApp
from screens.dashboard import DashboardScreen
from tests.ui.conftest import LockedDevice, settle


def test_the_scratch_journal_is_private_and_goes_away() -> None:
    with scratch_journal() as journal:
        folder = journal.path.parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        record(journal, "unlock", Outcome.OK, actor="quorum", device_id="built-in-emulator")
        assert [e.event.action for e in journal.entries()] == ["unlock"]
    assert not folder.exists()


async def test_quorum_unlock_of_the_emulator_is_journaled_apart_from_real_devices(
    locked: LockedDevice, store: ProfileStore, tmp_path: Path
) -> None:
    real = Journal(tmp_path / "real.jsonl")
    with scratch_journal() as throwaway:
        app = HsmConsoleApp(store=store, profile=locked.profile, emulator=True, journal=real,
                            emulator_journal=throwaway, keyring_notice=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("u")
            await pilot.pause()
            for text in locked.unlock_shares[:2]:
                box = app.screen.query_one("#share", Input)
                box.value = text
                box.focus()
                await pilot.press("enter")
                await pilot.pause()
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
        entries = throwaway.entries()
        assert [(e.event.action, e.event.outcome) for e in entries] == [("unlock", Outcome.OK)]
        assert entries[0].event.set_ids  # the set id, never the shares
    assert not real.path.exists()
