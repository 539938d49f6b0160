"""80x24 snapshots of the backup screens, with the public reference vector (no real secret)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from hsmconsole.models import DeviceState
from screens.backup.form import BackupForm
from screens.dashboard import DashboardScreen
from tests.snapshots.test_console_snapshots import PINNED, _app
from tests.ui.conftest import settle

VECTOR = "tests/reference/backup-vectors/v1.bin"  # relative: the path shows in the snapshot


async def _menu(pilot: Pilot[Any], choice: str | None = None) -> None:
    await settle(pilot)
    dash = pilot.app.screen
    assert isinstance(dash, DashboardScreen)
    dash.query_one("#actions", OptionList).highlighted = [a.id for a in dash.actions].index("backup")
    await pilot.press("enter")
    await settle(pilot)
    if choice is not None:
        options = pilot.app.screen.query_one(OptionList)
        options.highlighted = [o.id for o in options.options].index(choice)
        await pilot.press("enter")
        await settle(pilot)


def test_backup_menu(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_menu)


def test_backup_inspect_result(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _menu(pilot, "inspect")
        screen = pilot.app.screen
        assert isinstance(screen, BackupForm)
        for field_id, value in (("file", VECTOR), ("backup", "backupbackup"), ("unlock", "unlockunlock")):
            screen.query_one(f"#f-{field_id}", Input).value = value
        screen.action_run()
        await settle(pilot)
        # No focused field: a blinking cursor made the baseline differ from run to run.
        pilot.app.set_focus(None)
        await pilot.pause()

    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_backup_restore_form(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _menu(pilot, "restore")

    app = _app(tmp_path, PINNED, DeviceState.UNPROVISIONED)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_backup_restore_shares(snap_compare: Any, tmp_path: Path) -> None:
    """The backup passphrase field left empty: the backup custodians' share entry."""

    async def run(pilot: Pilot[Any]) -> None:
        await _menu(pilot, "restore")
        screen = pilot.app.screen
        assert isinstance(screen, BackupForm)
        made = tmp_path / "lab-hsm.nethsm-backup"  # only its existence is checked before the shares
        made.write_bytes(b"")
        screen.query_one("#f-file", Input).value = str(made)
        screen.action_run()
        await settle(pilot)

    app = _app(tmp_path, PINNED, DeviceState.UNPROVISIONED)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)
