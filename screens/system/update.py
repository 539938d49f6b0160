"""System update: upload an image with a progress bar, read its release notes, then commit or cancel."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, Static

from hsmconsole.errors import HsmConsoleError
from hsmconsole.system import actions
from screens.dialogs import AskDialog
from screens.system.common import SystemBase, field

EXPLAIN = (
    "Give the path of a signed NetHSM update image and press Enter. The device checks its "
    "signature and version and shows the release notes; nothing is installed until you press "
    "Ctrl+O, which reboots the device. Ctrl+G drops a waiting update."
)


def progress_text(sent: int, total: int, width: int = 40) -> str:
    """A bar in glyphs the Linux console font has (CP437 full and light shade blocks)."""
    filled = width * sent // total if total else width
    percent = 100 * sent // total if total else 100
    return f"{'█' * filled}{'░' * (width - filled)} {percent:3d}%  {sent:,} of {total:,} bytes"


class UpdateScreen(SystemBase):
    TITLE = "System update"
    HEADING = "system update"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not ctrl+k/u/x: the path field takes those for editing.
        Binding("ctrl+s", "upload", "Upload", id="update.upload"),
        Binding("ctrl+o", "commit", "Install", id="update.commit"),
        Binding("ctrl+g", "cancel_update", "Drop", id="update.cancel"),
        Binding("escape", "back", "Back", id="update.back"),
        Binding("f1", "app.help", "Help", id="update.help"),
    ]
    MUTATIONS = frozenset({"upload", "commit", "cancel_update", "back"})
    DEFAULT_CSS: ClassVar[str] = """
    UpdateScreen #upload-progress { margin: 1 1 0 1; height: 1; }
    UpdateScreen #notes-box { height: auto; max-height: 8; margin: 1 1 0 1; border: solid $foreground 50%; }
    """

    pending = False  # an image this screen uploaded waits on the device

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static(EXPLAIN, classes="hint")
        yield field("Update image file", "image-file", placeholder="e.g. /media/usb/nethsm-update.img")
        yield Static("", id="upload-progress", markup=False)
        with VerticalScroll(id="notes-box"):
            yield Static("", id="notes", markup=False)
        yield Static("", id="status-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#notes-box").display = False
        self.query_one("#upload-progress").display = False
        self.query_one("#image-file", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_upload()

    def _progress(self, sent: int, total: int) -> None:
        # Runs in the worker thread: the widget is updated on the UI thread.
        self.app.call_from_thread(self._show_progress, sent, total)

    def _show_progress(self, sent: int, total: int) -> None:
        self.query_one("#upload-progress", Static).update(progress_text(sent, total))

    def action_upload(self) -> None:
        name = self.value("image-file").strip()
        try:
            if not name:
                from hsmconsole.errors import InputError

                raise InputError("Give the path of the update image.", "Nothing was sent.")
            image = actions.read_update_file(Path(name).expanduser())
            admin = self.admin()
        except HsmConsoleError as exc:
            self.refuse_locally(exc)
            return
        self.query_one("#upload-progress").display = True
        self._show_progress(0, len(image))
        self.status(f"Uploading {len(image):,} bytes; the device checks the image ...")
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core(
            "Upload update",
            lambda: actions.upload_update(client, admin, image, self._progress, journal),
            self._uploaded, mutation=True, on_error=self._refused,
        )

    def _refused(self, err: HsmConsoleError) -> None:
        self.status(f"Refused: {err.title} {err.hint}")
        self.show_error(err)

    def _uploaded(self, notes: str) -> None:
        self.pending = True
        self.changed = True
        self.query_one("#notes-box").display = True
        self.query_one("#notes", Static).update(f"Release notes:\n{notes}")
        self.status("The device accepted the image. Ctrl+O installs it (the device reboots); "
                    "Ctrl+G drops it.")  # fmt: skip

    def action_commit(self) -> None:
        ask = AskDialog(
            "Install the update now?",
            "The device reboots into the new software and comes back Locked (unless unattended "
            "boot is on): keys are unusable until a quorum unlocks it. The admin session is closed.",
            "Install",
        )
        self.app.push_screen(ask, lambda ok: self._commit() if ok else None)

    def _commit(self) -> None:
        try:
            admin = self.admin()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core("Commit update", lambda: actions.commit_update(client, admin, journal),
                      self._committed, mutation=True, on_error=self._refused)  # fmt: skip

    def _committed(self, _: None) -> None:
        self.pending = False
        self.ctx.sessions.close()
        self.app.notify("Update committed: the device is rebooting into it.", markup=False)
        self.dismiss(True)

    def action_cancel_update(self) -> None:
        try:
            admin = self.admin()
        except HsmConsoleError as exc:
            self.show_error(exc)
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core("Cancel update", lambda: actions.cancel_update(client, admin, journal),
                      self._cancelled, mutation=True, on_error=self._refused)  # fmt: skip

    def _cancelled(self, _: None) -> None:
        self.pending = False
        self.query_one("#notes-box").display = False
        self.status("The waiting update was cancelled; the device keeps its current software.")

    def action_back(self) -> None:
        if self.pending and not self.busy:
            self.app.notify("The uploaded update still waits on the device: commit or cancel it later.",
                            severity="warning", markup=False)  # fmt: skip
        super().action_back()
