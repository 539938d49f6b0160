"""TLS certificate view (subject, validity, SHA-256, whether it is the pinned one) and CSR to a file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from hsmconsole.device import system as dev
from hsmconsole.device.trust import grouped
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.system import actions
from screens.system.common import SystemBase, field, rows


def certificate_rows(cert: dev.TlsCertificate, now: datetime) -> str:
    if now < cert.not_before:
        validity = "NOT YET VALID (check the device clock)"
    elif now > cert.not_after:
        validity = "EXPIRED"
    else:
        validity = "valid now"
    pin = {
        True: "yes: this is the certificate the profile pins",
        False: "NO: the profile pins another certificate",
        None: "nothing pinned (insecure profile)",
    }[cert.matches_pin]
    lines = grouped(cert.fingerprint)
    return rows([
        ("Subject", cert.subject), ("Issuer", cert.issuer),
        ("Valid", f"{cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d}, {validity}"),
        ("SHA-256", lines[0]), ("", lines[1] if len(lines) > 1 else ""), ("Matches pin", pin),
    ])  # fmt: skip


class TlsScreen(SystemBase):
    TITLE = "TLS"
    HEADING = "TLS certificate"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "csr", "Save CSR", id="tls.csr"),
        Binding("escape", "back", "Back", id="tls.back"),
        Binding("f1", "app.help", "Help", id="tls.help"),
    ]
    FIELDS = ("csr-cn", "csr-org", "csr-file")
    MUTATIONS = frozenset({"csr", "back"})

    def compose(self) -> ComposeResult:
        yield from self.heading()
        yield Static("Reading the certificate ...", id="certificate", classes="rows", markup=False)
        yield Static("A signing request (CSR) for the device's TLS key, for your CA to sign "
                     "(rotating the key itself is part of rotation):", classes="section")  # fmt: skip
        yield field("Common name", "csr-cn", placeholder="e.g. nethsm.example.org")
        yield field("Organization", "csr-org", placeholder="optional")
        yield field("Save to file", "csr-file", placeholder="e.g. nethsm-tls.csr")
        yield Static("", id="status-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#csr-cn", Input).focus()
        self.read_current("Read TLS", dev.read_tls_certificate, self._shown)

    def _shown(self, cert: dev.TlsCertificate) -> None:
        self.query_one("#certificate", Static).update(certificate_rows(cert, datetime.now(UTC)))

    def submit(self) -> None:
        self.action_csr()

    def action_csr(self) -> None:
        cn, org, name = (self.value(f).strip() for f in self.FIELDS)
        try:
            if not cn:
                raise InputError("A CSR needs a common name.", "Give the name clients use for the device.")
            if not name:
                raise InputError("Give a file to save the CSR to.", "For example nethsm-tls.csr.")
            path = Path(name).expanduser()
            if path.exists():
                raise InputError(f"{path} already exists.", "Choose another name; nothing was overwritten.")
            admin = self.admin()
        except HsmConsoleError as exc:
            self.refuse_locally(exc)
            return
        dn = dev.DistinguishedName(cn, organization=org)
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core("Save CSR", lambda: actions.save_csr(client, admin, dn, path, journal),
                      self._saved, mutation=True)  # fmt: skip

    def _saved(self, path: Path) -> None:
        self.status(f"CSR saved to {path} (mode 0600).")
        self.notify(f"CSR saved to {path}.", markup=False)
