"""Dashboard: device state, identity, system info, counts, TLS status and what this state allows."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from hsmconsole.access.quorum import BackupPassphraseRecord, backup_passphrase_record
from hsmconsole.access.session import AdminSession, lock_device
from hsmconsole.device.client import DeviceClient
from hsmconsole.models import Action, DeviceState, DeviceStatus, TlsTrust, actions_for
from hsmconsole.rotation.age import ages_line, credential_ages
from screens.base import CoreScreen, DeviceContext, banner, help_binding, highlighted_id, refill_options
from screens.dialogs import AskDialog, TypedConfirm

# A flow is a screen started from a dashboard action (keyed by models.Action.id); it dismisses
# True when the device changed. The app registers them, so new flows need no dashboard change.
FlowFactory = Callable[[DeviceContext], Screen[bool]]

# Flows after which the device holds secrets, users or keys the last backup does not (dismissed True =
# changed). System settings are not among them: a reboot or a log level is no reason to back up.
RECONFIGURING = frozenset({"provision", "rotate", "users", "namespaces", "keys", "plan"})
# The flow that makes a backup; the app registers it (screens.backup.make), the dashboard offers it.
BACKUP_FLOW = "backup-make"


def _short(fingerprint: str) -> str:
    parts = fingerprint.split(":")
    return ":".join(parts[:6]) + ":...:" + ":".join(parts[-2:]) if len(parts) > 8 else fingerprint


def status_lines(status: DeviceStatus, session: AdminSession | None, idle_minutes: float) -> str:
    """The dashboard's text for a status; device-supplied values are shown verbatim, never markup."""
    ident = " / ".join(x for x in (status.vendor, status.product) if x) or "unknown"
    mismatch = status.tls is TlsTrust.MISMATCH
    tls = {
        TlsTrust.PINNED: f"verified, pinned SHA-256 {_short(status.fingerprint)}",
        TlsTrust.INSECURE: "NOT VERIFIED (insecure profile)",
        TlsTrust.UNPINNED: "not pinned",
        TlsTrust.MISMATCH: "CERTIFICATE MISMATCH: refused, nothing was sent",
    }[status.tls]
    if status.system is not None:
        s = status.system
        system = f"software {s.software_version}, firmware {s.firmware_version}, hw {s.hardware_version}"
    else:
        system = "needs an admin session" if status.state is DeviceState.OPERATIONAL else "-"
    if status.counts is not None:
        c = status.counts
        counts = f"{c.users} users, {c.namespaces} namespaces, {c.keys} keys"
    else:
        counts = "needs an admin session" if status.state is DeviceState.OPERATIONAL else "-"
    admin = (
        f"open as {session.user_id} (forgotten after {idle_minutes:g} min unused)"
        if session is not None and session.open
        else "none"
    )
    rows = [
        ("State", "not asked (certificate mismatch)" if mismatch else status.state.value),
        ("Device", ident),
        ("Address", status.host),
        ("TLS", tls),
    ]
    if mismatch:
        # System and counts would be "-": the rows go to both fingerprints instead.
        rows += [("Pinned", _short(status.fingerprint)), ("Shown", _short(status.presented) or "not known")]
    else:
        rows += [("System", system), ("Counts", counts)]
    rows.append(("Admin", admin))
    rows += [("Note", note) for note in status.notes]
    return "\n".join(f"{k:<8} {v}" for k, v in rows)


class DashboardScreen(CoreScreen[str]):
    """Shows one device. Dismisses "connections" when the person wants another profile."""

    TITLE = "Dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "run_selected", "Run", id="dashboard.run"),
        Binding("r", "refresh", "Refresh", id="dashboard.refresh"),
        Binding("c", "connections", "Connections", id="dashboard.connections"),
        help_binding("dashboard"),
        Binding("u", "flow('unlock')", "Quorum unlock", show=False, id="dashboard.unlock"),
        Binding("a", "flow('admin')", "Admin session", show=False, id="dashboard.admin"),
        Binding("l", "lock", "Lock", show=False, id="dashboard.lock"),
        Binding("p", "flow('provision')", "Provision", show=False, id="dashboard.provision"),
        Binding("x", "close_session", "Close admin session", show=False, id="dashboard.close"),
        Binding("s", "flow('signin')", "Sign in as a day-to-day user", show=False, id="dashboard.signin"),
        Binding("U", "flow('users')", "Users", show=False, id="dashboard.users"),
        Binding("n", "flow('namespaces')", "Namespaces", show=False, id="dashboard.namespaces"),
        Binding("k", "flow('keys')", "Keys", show=False, id="dashboard.keys"),
        # The list scrolls at 80x24: every section also has a key of its own (listed in help).
        Binding("b", "flow('backup')", "Backups", show=False, id="dashboard.backup"),
        Binding("y", "flow('system')", "System", show=False, id="dashboard.system"),
        Binding("o", "flow('rotate')", "Credential rotation", show=False, id="dashboard.rotate"),
        Binding("f", "flow('plan')", "Apply an administration file", show=False, id="dashboard.plan"),
    ]
    MUTATIONS = frozenset({"run_selected", "flow", "lock", "connections"})
    # The action list has the focus and takes Enter itself (it runs the highlighted action), so
    # the screen's own Enter binding never shows in the live bindings help reads: say it here.
    HELP_EXTRA: ClassVar[tuple[tuple[str, str], ...]] = (("Enter", "Run the highlighted action"),)

    def __init__(self, ctx: DeviceContext, flows: dict[str, FlowFactory]) -> None:
        super().__init__()
        self.ctx = ctx
        self.flows = flows
        self.status: DeviceStatus | None = None
        self.actions: tuple[Action, ...] = ()
        self.backup_record = BackupPassphraseRecord.UNKNOWN

    @property
    def client(self) -> DeviceClient:
        return self.ctx.client

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static("", id="trust-banner", classes="banner -insecure", markup=False)
        yield Static(f"hsmconsole: {self.ctx.profile.name}", classes="title", markup=False)
        yield Static("Reading the device status ...", id="status", markup=False)
        yield Static("", id="ages", markup=False)
        yield Static("What you can do (Enter runs the highlighted action):", classes="section")
        yield OptionList(id="actions", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#trust-banner").display = False
        self.query_one("#ages").display = False  # shown once the journal has been read
        self.action_refresh()
        self.set_interval(1.0, self._watch_session)

    def on_screen_resume(self) -> None:
        # Not while a change runs (a lock just confirmed): its own end refreshes, and a read
        # racing it would ask a device that is locking for its system info.
        if self.status is not None and not self.busy:
            self.action_refresh()

    def _watch_session(self) -> None:
        if self.ctx.sessions.expire_idle():
            self.notify("The admin session was unused too long: its passphrase is forgotten.")
            self._render_status()
            # System and Counts were read with the session: read the status again without it.
            self.action_refresh()

    def action_refresh(self) -> None:
        client, sessions = self.client, self.ctx.sessions
        admin = sessions.admin.credentials() if sessions.admin and sessions.admin.open else None
        journal, profile = self.ctx.journal, self.ctx.profile
        device_id = profile.name

        def read() -> tuple[DeviceStatus, BackupPassphraseRecord]:
            status = client.status(admin)
            # Only an admin session on an Operational device can set it: read the journal then.
            known = BackupPassphraseRecord.UNKNOWN
            if admin is not None and status.state is DeviceState.OPERATIONAL:
                known = backup_passphrase_record(journal, device_id)
            return status, known

        self.run_core("Read status", read, self._loaded, mutation=False)
        if journal is not None:
            limit = profile.credential_max_age_days

            def ages() -> str:
                entries = journal.entries() if journal.path.exists() else []
                return ages_line(credential_ages(entries, profile.name[:64], limit_days=limit), limit)

            self.run_core("Credential ages", ages, self._ages_loaded, mutation=False,
                          on_error=lambda err: self._ages_loaded(f"journal unreadable: {err.title}"))

    def _ages_loaded(self, line: str) -> None:
        ages = self.query_one("#ages", Static)
        ages.update(f"{'Ages':<8} {line}")
        ages.display = True

    def _loaded(self, result: tuple[DeviceStatus, BackupPassphraseRecord]) -> None:
        status, self.backup_record = result
        self.status = status
        if status.tls is TlsTrust.MISMATCH:
            self._show_mismatch()
        self._render_status()

    def _show_mismatch(self) -> None:
        """Red and persistent: stays for the rest of this dashboard even if a later refresh
        matches again, because someone at least briefly answered in the device's place."""
        p = self.ctx.profile
        self.query_one("#trust-banner", Static).update(
            f"CERTIFICATE MISMATCH: {p.host} presented a certificate that is not the one pinned for "
            f"profile '{p.name}'. Nothing was sent to it. Compare fingerprints on the device's own "
            "console before trusting it again."
        )
        self.query_one("#trust-banner").display = True

    def _render_status(self) -> None:
        if self.status is None:
            return
        session = self.ctx.sessions.admin
        self.query_one("#status", Static).update(
            status_lines(self.status, session, self.ctx.sessions.idle_timeout / 60)
        )
        open_session = session is not None and session.open
        self.actions = actions_for(
            self.status.state, admin_session=open_session, pinned=bool(self.ctx.profile.fingerprint),
            backup_passphrase_set=self.backup_record is BackupPassphraseRecord.SET,
        )
        options = self.query_one("#actions", OptionList)
        refill_options(options, (
            Option(act.label if act.enabled else f"{act.label}  ({act.reason})", id=act.id,
                   disabled=not act.enabled)
            for act in self.actions
        ))
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.run_action_id(event.option.id)

    def action_run_selected(self) -> None:
        option_id = highlighted_id(self.query_one("#actions", OptionList))
        if option_id:
            self.run_action_id(option_id)

    def run_action_id(self, action_id: str) -> None:
        act = next((a for a in self.actions if a.id == action_id), None)
        if act is None:
            return
        if not act.enabled:
            self.notify(f"{act.label}: {act.reason}.", severity="warning", markup=False)
        elif action_id == "refresh":
            self.action_refresh()
        elif action_id == "lock":
            self.action_lock()
        else:
            self.action_flow(action_id)

    def action_flow(self, action_id: str) -> None:
        act = next((a for a in self.actions if a.id == action_id), None)
        if act is not None and not act.enabled:
            self.notify(f"{act.label}: {act.reason}.", severity="warning", markup=False)
            return
        factory = self.flows.get(action_id)
        if factory is None:
            label = act.label if act else action_id
            self.notify(f"{label} is not available in this version.", severity="warning", markup=False)
            return
        self.app.push_screen(factory(self.ctx), lambda changed: self._flow_done(action_id, changed))

    def _flow_done(self, action_id: str, changed: bool | None) -> None:
        self.action_refresh()
        if changed and action_id in RECONFIGURING and BACKUP_FLOW in self.flows:
            # Signstar's rule: a backup after every reconfiguration, or the last backup no longer
            # restores what the device holds. Offered, not forced: the Backup user may be elsewhere.
            self.app.push_screen(
                AskDialog(
                    "The device changed: make a backup now?",
                    "The last backup does not hold this change. A Backup-role user's passphrase is "
                    "needed; the backup is written 0600 with its manifest.",
                    "Make a backup",
                    "Later",
                ),
                self._backup_offer_answered,
            )

    def _backup_offer_answered(self, yes: bool | None) -> None:
        if yes:
            self.app.push_screen(self.flows[BACKUP_FLOW](self.ctx), lambda _made: self.action_refresh())

    def action_lock(self) -> None:
        # The key l says what the dimmed list entry says (models.actions_for), nothing else.
        act = next((a for a in self.actions if a.id == "lock"), None)
        if act is None or not act.enabled:
            reason = act.reason if act is not None else "the device status is not known yet"
            self.notify(f"Lock the device: {reason}.", severity="warning", markup=False)
            return
        confirm = TypedConfirm(
            "Lock the device?",
            "Keys become unusable until a quorum of custodians unlocks it again with their shares.",
            "lock",
        )
        self.app.push_screen(confirm, self._lock_confirmed)

    def _lock_confirmed(self, ok: bool | None) -> None:
        session = self.ctx.sessions.admin
        if not ok or session is None:
            return
        client, journal = self.client, self.ctx.journal
        self.run_core("Lock", lambda: lock_device(client, session, journal), self._locked, mutation=True)

    def _locked(self, _: None) -> None:
        # Locking means walking away from the device: do not leave the admin passphrase behind.
        self.ctx.sessions.close()
        self.notify("The device is locked; the admin session was closed.")
        self.action_refresh()

    def action_close_session(self) -> None:
        if self.ctx.sessions.admin is not None:
            self.ctx.sessions.close()
            self.notify("Admin session closed; its passphrase is forgotten.")
            self._render_status()

    def action_connections(self) -> None:
        self.dismiss("connections")
