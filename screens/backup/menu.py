"""The backup room: make a backup, inspect one, rehearse a restore (one dashboard entry)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from screens.backup.form import BackupForm
from screens.backup.inspect import InspectBackupScreen
from screens.backup.make import MakeBackupScreen
from screens.backup.rehearse import RehearseScreen
from screens.base import DeviceContext, banner

CHOICES: tuple[tuple[str, str, type[BackupForm]], ...] = (
    ("make", "Make a backup now (Backup-role user)", MakeBackupScreen),
    ("inspect", "Inspect a backup file (offline)", InspectBackupScreen),
    ("rehearse", "Rehearse a restore in a throwaway emulator", RehearseScreen),
)


class BackupMenuScreen(Screen[bool]):
    TITLE = "Backups"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="backupmenu.back"),
    ]

    def __init__(self, ctx: DeviceContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.changed = False

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"hsmconsole: {self.ctx.profile.name}: backups", classes="title", markup=False)
        yield Static(
            "Restore onto a device: `hsmconsole backup restore` (see docs/disaster-recovery.md).",
            classes="hint", markup=False,
        )  # fmt: skip
        yield OptionList(*(Option(label, id=cid) for cid, label, _ in CHOICES), id="backup-choices")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        screen = next(cls for cid, _, cls in CHOICES if cid == event.option.id)
        self.app.push_screen(screen(self.ctx), self._back_here)

    def _back_here(self, changed: bool | None) -> None:
        self.changed = self.changed or bool(changed)

    def action_back(self) -> None:
        self.dismiss(self.changed)
