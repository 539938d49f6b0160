"""The backup room: make a backup, inspect one, rehearse or run a restore (one dashboard entry)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from hsmconsole.device.profiles import ProfileStore
from screens.backup.form import BackupForm
from screens.backup.inspect import InspectBackupScreen
from screens.backup.make import MakeBackupScreen
from screens.backup.rehearse import RehearseScreen
from screens.backup.restore import RestoreScreen
from screens.base import DeviceContext, banner

CHOICES: tuple[tuple[str, str, type[BackupForm]], ...] = (
    ("make", "Make a backup now (Backup-role user)", MakeBackupScreen),
    ("inspect", "Inspect a backup file (offline)", InspectBackupScreen),
    ("rehearse", "Rehearse a restore in a throwaway emulator", RehearseScreen),
    ("restore", "Restore a backup onto this device (disaster recovery)", RestoreScreen),
)


class BackupMenuScreen(Screen[bool]):
    TITLE = "Backups"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="backupmenu.back"),
    ]

    def __init__(self, ctx: DeviceContext, store: ProfileStore | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.store = store  # where a full restore saves the profile re-pinned to the backup's certificate
        self.changed = False

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"hsmconsole: {self.ctx.profile.name}: backups", classes="title", markup=False)
        yield Static(
            "The printed runbook for the day is docs/disaster-recovery.md.", classes="hint", markup=False
        )
        yield OptionList(*(Option(label, id=cid) for cid, label, _ in CHOICES), id="backup-choices")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        cls = next(cls for cid, _, cls in CHOICES if cid == event.option.id)
        screen = RestoreScreen(self.ctx, self.store) if cls is RestoreScreen else cls(self.ctx)
        self.app.push_screen(screen, self._back_here)

    def _back_here(self, changed: bool | None) -> None:
        self.changed = self.changed or bool(changed)

    def action_back(self) -> None:
        self.dismiss(self.changed)
