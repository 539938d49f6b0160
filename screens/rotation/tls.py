"""Rotate the device's TLS certificate: new key, or CSR and CA-signed upload; compare, then pin it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Label, Static

from hsmconsole import fileio
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.passphrases import TLS_KEY_TYPES
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.device.trust import grouped
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.rotation import tls
from hsmconsole.rotation.tls import TlsChange
from screens.base import CoreScreen, DeviceContext, banner
from screens.dialogs import TypedConfirm
from screens.widgets.radio import PlainRadioButton, PlainRadioSet

_MODES = ("new key", "CSR to a file", "upload CA-signed")


class TlsRotationScreen(CoreScreen[bool]):
    """Needs an admin session. After a change the old pin no longer opens connections: the person
    compares the new fingerprint with the device's console and types its last digits to pin it."""

    TITLE = "Rotate the TLS certificate"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "go", "Go ahead", key_display="Ctrl+N", id="rotation.tls.go"),
        Binding("escape", "leave", "Back", key_display="Esc", id="rotation.tls.back"),
        Binding("f1", "app.help", "Help", key_display="F1", id="rotation.tls.help"),
    ]
    MUTATIONS = frozenset({"go", "leave"})
    DEFAULT_CSS = """
    TlsRotationScreen RadioSet { margin: 0 1; height: auto; layout: horizontal; }
    TlsRotationScreen Label { padding: 0 1; }
    TlsRotationScreen Input { border: none; height: 1; padding: 0 1; margin: 0 1; background: $surface; }
    TlsRotationScreen Input:focus { border: none; background: $primary; color: $text; text-style: bold; }
    TlsRotationScreen #tls-result { padding: 0 1; }
    """

    def __init__(self, ctx: DeviceContext, store: ProfileStore | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.store = store
        self.change: TlsChange | None = None
        self.changed = False
        self._warned = False

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"Rotate the TLS certificate: {self.ctx.profile.name}", classes="title", markup=False)
        with PlainRadioSet(id="mode"):
            for i, label in enumerate(_MODES):
                yield PlainRadioButton(label, value=i == 0)
        yield Label("Key type and length, or common name, or file:")
        yield Input(placeholder="e.g. EC_P256 | RSA 3072 | nethsm.example.org | /path/cert.pem", id="arg")
        yield Label("CSR output file (CSR only):")
        yield Input(placeholder="e.g. /media/stick/nethsm.csr", id="csr-path")
        yield Static("", id="tls-result", markup=False)
        yield Input(placeholder="last 8+ hex digits of the NEW fingerprint, from the device", id="compare")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#compare").display = False

    def _admin_or_refuse(self) -> bool:
        session = self.ctx.sessions.admin
        if session is None or not session.open:
            self.show_error(InputError("This needs an admin session.", "Esc, open one (a), then come back."))
            return False
        return True

    def action_go(self) -> None:
        if self.change is not None:
            self._pin()
            return
        if not self._admin_or_refuse():
            return
        mode = max(0, self.query_one("#mode", PlainRadioSet).pressed_index)
        arg = self.query_one("#arg", Input).value.strip()
        try:
            if mode == 1:
                self._csr(arg, self.query_one("#csr-path", Input).value.strip())
                return
            if mode == 0:
                parts = arg.split() or ["EC_P256"]
                key_type = next((t for t in TLS_KEY_TYPES if t.casefold() == parts[0].casefold()), parts[0])
                length = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                question = f"Generate a new {key_type} TLS key on the device?"
                pem = ""
            else:
                key_type, length = "", None
                pem = Path(arg).read_text(encoding="ascii")
                question = f"Upload the certificate from {arg}?"
        except (OSError, UnicodeDecodeError) as exc:
            self.show_error(InputError(f"Cannot read {arg}: {exc.__class__.__name__}."))
            return
        except HsmConsoleError as err:
            self.show_error(err)
            return
        confirm = TypedConfirm(
            question,
            "The device then presents a new certificate: this profile's pin stops working until "
            "you compare and pin the new fingerprint here.",
            "tls",
        )
        self.app.push_screen(confirm, lambda ok: self._confirmed(ok, key_type, length, pem))

    def _csr(self, common_name: str, path: str) -> None:
        if not path:
            raise InputError("Give a file for the CSR.")
        session = self.ctx.sessions.admin
        assert session is not None
        admin, client = session.credentials(), self.ctx.client

        def work() -> str:
            fileio.write_private(Path(path), tls.make_csr(client, admin, common_name).encode("ascii"))
            return path

        self.run_core(
            "Make a CSR",
            work,
            lambda p: self._say(f"CSR written to {p}. Have it signed, then upload the certificate."),
            mutation=True,
        )

    def _confirmed(self, ok: bool | None, key_type: str, length: int | None, pem: str) -> None:
        session = self.ctx.sessions.admin
        if not ok or session is None:
            return
        admin, client, journal = session.credentials(), self.ctx.client, self.ctx.journal

        def work() -> TlsChange:
            if pem:
                return tls.upload_certificate(client, admin, pem, journal=journal)
            return tls.generate_key(client, admin, key_type, length, journal=journal)

        self._say("Changing the TLS certificate ...")
        self.run_core("Rotate TLS", work, self._changed, mutation=True)

    def _say(self, text: str) -> None:
        self.query_one("#tls-result", Static).update(text)

    def _changed(self, change: TlsChange) -> None:
        self.change = change
        self.changed = True
        self._say(
            "The device now presents a NEW certificate (read over the old, still-pinned connection).\n"
            "Old SHA-256:\n"
            + "\n".join(grouped(change.old_fingerprint))
            + "\nNew SHA-256:\n"
            + "\n".join(grouped(change.new.fingerprint))
            + "\nCompare the new one with the device's own console; type its last digits, Ctrl+N."
        )
        box = self.query_one("#compare", Input)
        box.display = True
        box.focus()

    def _pin(self) -> None:
        change = self.change
        assert change is not None
        typed = self.query_one("#compare", Input).value
        ctx, store, journal = self.ctx, self.store, self.ctx.journal

        def work() -> None:
            profile = tls.pin(change, ctx.profile, compared=typed, store=store, journal=journal)
            # The device context follows the new pin: every later connection checks it.
            ctx.profile = profile
            ctx.client = DeviceClient(profile, ctx.client.timeouts)

        self.run_core("Pin the new certificate", work, self._pinned, mutation=True)

    def _pinned(self, _: None) -> None:
        self.change = None
        self.query_one("#compare").display = False
        self._say(f"Pinned: {self.ctx.profile.fingerprint}")
        self.notify("The new TLS certificate is pinned for this profile.", markup=False)

    def action_leave(self) -> None:
        if self.change is not None and not self._warned:
            self._warned = True
            self.notify(
                "The new certificate is not pinned yet: connections to this device will be refused "
                "until you pin it (type its last digits, Ctrl+N). Esc again leaves anyway.",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(self.changed)


__all__ = ["TlsRotationScreen"]
