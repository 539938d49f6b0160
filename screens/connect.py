"""Choose or add a connection profile; first contact pins the certificate only after the person confirms."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.device.trust import TrustCheck, TrustVerdict, check_trust, grouped, mismatch_error
from hsmconsole.errors import HsmConsoleError
from screens.base import CoreScreen, help_binding, highlighted_id, refill_options
from screens.dialogs import TypedConfirm
from screens.widgets.checkbox import PlainCheckbox


def _describe(p: Profile, ephemeral: bool) -> str:
    trust = "pinned" if p.pinned else ("TLS NOT VERIFIED" if p.insecure else "not yet pinned")
    extra = ", this session only" if ephemeral else ""
    return f"{p.name:<18} {p.host:<24} {trust}{extra}"


class FingerprintDialog(ModalScreen[bool]):
    """First contact: show the presented fingerprint for comparison out of band. Cancel has focus."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="fingerprint.cancel")]

    def __init__(self, check: TrustCheck) -> None:
        super().__init__(classes="dialog-screen")
        self.check = check

    def compose(self) -> ComposeResult:
        p = self.check.profile
        with Vertical(classes="dialog -fingerprint"):
            yield Label("First connection: compare the certificate", classes="dialog-title")
            yield Static(f"Profile {p.name}, address {p.host}. It presented (SHA-256):", markup=False)
            yield Static("\n".join(grouped(self.check.presented)), markup=False, id="fingerprint")
            yield Static(
                "Compare every pair with the fingerprint shown on the device's own console, or "
                "given by its administrator over another channel. Pin it only if all match.",
                classes="hint",
            )
            with Horizontal(classes="buttons"):
                yield Button("It matches: pin it", id="pin", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "pin")

    def action_cancel(self) -> None:
        self.dismiss(False)


class AddProfileDialog(ModalScreen[Profile | None]):
    """Name and address of a new profile; skipping TLS verification must be ticked explicitly."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="add-profile.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -add-profile"):
            yield Label("Add a connection profile", classes="dialog-title")
            yield Label("Name (letters, digits, . _ -)")
            yield Input(id="name", placeholder="e.g. lab-hsm", compact=True)
            yield Label("Address (host or host:port)")
            yield Input(id="host", placeholder="e.g. nethsm.example.org:443", compact=True)
            yield PlainCheckbox("Insecure: never verify TLS (not recommended)", id="insecure", compact=True)
            with Horizontal(classes="buttons"):
                yield Button("Add", id="add", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "name":
            self.query_one("#host", Input).focus()
        else:
            self._add()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self._add()
        else:
            self.dismiss(None)

    def _add(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        host = self.query_one("#host", Input).value.strip()
        try:
            profile = Profile(name, host, insecure=self.query_one("#insecure", PlainCheckbox).value)
        except HsmConsoleError as err:
            self.notify(f"{err.title}\n{err.hint}", severity="warning", markup=False)
            return
        self.dismiss(profile)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConnectScreen(CoreScreen[Profile | None]):
    """Lists profiles; Enter checks the chosen one's certificate and returns it once trusted."""

    TITLE = "Connections"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "connect", "Connect", id="connect.connect"),
        Binding("a", "add", "Add", id="connect.add"),
        Binding("d", "delete", "Delete", id="connect.delete"),
        help_binding("connect"),
    ]
    MUTATIONS = frozenset({"connect", "add", "delete"})

    def __init__(
        self,
        store: ProfileStore,
        *,
        probe: Callable[[str], str],
        start: Profile | None = None,
        auto: bool = True,
        vault: CredentialVault | None = None,
    ) -> None:
        """`start` is listed even if not saved (the emulator's in-memory profile); with `auto`
        it is checked and connected to at once."""
        super().__init__()
        self.store = store
        self.probe = probe
        self.start = start
        self.auto = auto
        self.vault = vault
        self.profiles: dict[str, Profile] = {}

    def compose(self) -> ComposeResult:
        yield Static("hsmconsole: connections", classes="title")
        yield Static(
            "Choose a device with the arrow keys and press Enter. The first connection shows the "
            "device's certificate fingerprint to compare before anything is trusted.",
            classes="hint",
        )
        yield OptionList(id="profiles")
        yield Static("", id="connect-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        if self.start is not None and self.auto:
            self.check(self.start)

    def _ephemeral(self, p: Profile) -> bool:
        return self.start is not None and p.name == self.start.name and p.name not in self._stored

    def reload(self, select: str | None = None) -> None:
        try:
            self._stored = self.store.load()
        except HsmConsoleError as err:
            self._stored = {}
            self.show_error(err)
        self.profiles = dict(self._stored)
        if self.start is not None and self.start.name not in self.profiles:
            self.profiles[self.start.name] = self.start
        options = self.query_one("#profiles", OptionList)
        refill_options(
            options,
            (Option(_describe(p, self._ephemeral(p)), id=name) for name, p in sorted(self.profiles.items())),
            select=select,
        )
        if not self.profiles:
            self._status("No profiles yet: press a to add one.")
        options.focus()

    def _status(self, text: str) -> None:
        self.query_one("#connect-status", Static).update(text)

    def _selected(self) -> Profile | None:
        return self.profiles.get(highlighted_id(self.query_one("#profiles", OptionList)) or "")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_connect()

    def action_connect(self) -> None:
        profile = self._selected()
        if profile is not None:
            self.check(profile)

    def check(self, profile: Profile) -> None:
        self._status(f"Contacting {profile.host} ...")
        self.run_core(
            "Check the device certificate",
            lambda: check_trust(profile, self.probe),
            self._checked,
            mutation=True,
            on_error=self._failed,
        )

    def _failed(self, err: HsmConsoleError) -> None:
        self._status("")
        self.show_error(err)

    def _checked(self, check: TrustCheck) -> None:
        self._status("")
        if check.verdict is TrustVerdict.MISMATCH:
            self.show_error(mismatch_error(check))
        elif check.verdict is TrustVerdict.FIRST_CONTACT:
            self.app.push_screen(FingerprintDialog(check), lambda ok: self._confirmed(check, ok))
        else:
            self.dismiss(check.profile)

    def _confirmed(self, check: TrustCheck, ok: bool | None) -> None:
        if not ok:
            self._status("Not pinned: nothing was trusted or sent.")
            return
        pinned = check.profile.with_fingerprint(check.presented)
        if not self._ephemeral(check.profile):
            try:
                self.store.save(pinned)
            except HsmConsoleError as err:
                self.show_error(err)
                return
        self.dismiss(pinned)

    def action_add(self) -> None:
        self.app.push_screen(AddProfileDialog(classes="dialog-screen"), self._added)

    def _added(self, profile: Profile | None) -> None:
        if profile is None:
            return
        if profile.name in self.profiles:
            self.notify(f"A profile named {profile.name} exists already.", severity="warning", markup=False)
            return
        try:
            self.store.save(profile)
        except HsmConsoleError as err:
            self.show_error(err)
            return
        self.reload(select=profile.name)
        self._status(f"Added {profile.name}. Press Enter to connect and compare its fingerprint.")

    def action_delete(self) -> None:
        profile = self._selected()
        if profile is None or self._ephemeral(profile):
            return
        confirm = TypedConfirm(
            f"Delete profile {profile.name}?",
            "Its address, pinned fingerprint, user names and any passphrases kept for it in the OS "
            "keyring are forgotten; the device itself is not touched.",
            profile.name,
        )
        self.app.push_screen(confirm, lambda ok: self._delete(profile, ok))

    def _delete(self, profile: Profile, ok: bool | None) -> None:
        if not ok:
            return
        try:
            self.store.delete(profile.name)
        except HsmConsoleError as err:
            self.show_error(err)
        self.reload()
        vault = self.vault
        if vault is not None and vault.available and profile.users:
            # A later profile of the same name may be another device: it must not get these.
            def forget() -> None:
                for user in profile.users:
                    vault.forget(profile.name, user)

            self.run_core("Forget kept passphrases", forget, lambda _: None, mutation=True)
