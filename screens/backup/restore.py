"""The disaster-recovery restore wizard: plan, typed confirmation, restore, quorum unlock, inventory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from hsmconsole.backup.restore import (
    InventoryCheck,
    RestoreKind,
    RestorePlan,
    check_inventory,
    plan_restore,
    run_restore,
)
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from screens.admin_session import AdminSessionScreen
from screens.backup.backup_shares import ask_backup_shares, require_file
from screens.backup.form import BackupForm, Field
from screens.base import DeviceContext
from screens.dialogs import TypedConfirm
from screens.quorum_unlock import QuorumUnlockScreen

CONFIRM_WORD = "restore"


class RestoreScreen(BackupForm):
    """Ctrl+R walks the steps: check the backup and say what will change; restore after the typed
    word; unlock with a quorum of the backup's unlock shares; check the inventory. The backup
    passphrase comes from a quorum of backup shares (or is typed, when kept whole in a safe) and
    is held only until the restore is sent (or the screen is left), then wiped."""

    TITLE = TITLE_TEXT = "Restore a backup"
    EXPLAIN: ClassVar[str] = (
        "Unprovisioned device: full restore. Operational device: partial restore (users, keys "
        "and namespaces not in the backup are deleted). Then unlock and check the inventory."
    )
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("file", "Backup file", placeholder="backups/....nethsm-backup"),
        Field("backup", "Backup passphrase itself (hidden; empty: custodians enter shares)",
              secret=True),
    )

    def __init__(self, ctx: DeviceContext, store: ProfileStore | None = None) -> None:
        super().__init__(ctx)
        self.store = store
        self.plan: RestorePlan | None = None
        self.passphrase: Secret | None = None
        self.step = "plan"  # plan -> confirm -> unlock -> check -> done

    def _admin(self) -> Any:
        session = self.ctx.sessions.admin
        return session.credentials() if session is not None and session.open else None

    def action_run(self) -> None:
        if self.busy:
            return
        if self.step == "confirm" and self.plan is not None:
            consequence = "\n".join(self.plan.summary()[2:])[:600]
            self.app.push_screen(TypedConfirm("Restore this backup?", consequence, CONFIRM_WORD), self._go)
        elif self.step == "unlock":
            self.app.push_screen(QuorumUnlockScreen(self.ctx), self._unlocked)
        elif self.step == "check":
            if self._admin() is None:
                self.app.push_screen(AdminSessionScreen(self.ctx), lambda _ok: self.action_run())
                return
            self._check()
        elif self.step == "plan":
            super().action_run()

    def start(self) -> Callable[[], Any] | None:
        path = self.text("file")
        if not path:
            raise InputError("Give the backup file's path.")
        typed = self.secret("backup", "backup passphrase")
        self._forget()
        if typed is None:
            require_file(path)
            # The usual way: the backup custodians, one at a time, as the unlock step does.
            ask_backup_shares(self, "opens the backup before anything is sent to the device",
                              lambda secret: self._plan(path, secret),
                              lambda: self.say("No backup passphrase: nothing was sent."))  # fmt: skip
            return None
        self.passphrase = typed
        client, admin = self.ctx.client, self._admin()
        return lambda: plan_restore(client, path, typed, admin)

    def _plan(self, path: str, secret: Secret) -> None:
        """Plan with a passphrase combined from shares; held (like a typed one) until the restore."""
        self.passphrase = secret
        client, admin = self.ctx.client, self._admin()
        self.say("Working...")
        self.run_core(self.TITLE_TEXT, lambda: plan_restore(client, path, secret, admin), self._done,
                      mutation=True, on_error=self._failed_plan)  # fmt: skip

    def _failed_plan(self, err: HsmConsoleError) -> None:
        self._forget()  # a passphrase that does not open this backup is of no further use
        self._failed(err)

    def describe(self, result: Any) -> str:
        if isinstance(result, RestorePlan):
            self.plan, self.step = result, "confirm"
            return "\n".join([*result.summary(), "Ctrl+R: go ahead (you will type the word restore)."])
        return str(result)

    def _go(self, ok: bool | None) -> None:
        if not ok or self.plan is None or self.passphrase is None:
            self.say("Not confirmed: nothing was restored.")
            return
        plan, secret, client = self.plan, self.passphrase, self.ctx.client
        admin, journal = self._admin(), self.ctx.journal

        def run() -> tuple[DeviceClient, DeviceState]:
            try:
                new = run_restore(client, plan, secret, admin, journal=journal)
            finally:
                self._forget()
            return new, new.state()

        self.say("Restoring...")
        self.run_core("Restore", run, self._restored, mutation=True, on_error=self._failed)

    def _restored(self, result: tuple[DeviceClient, DeviceState]) -> None:
        client, state = result
        self.changed = True
        if client.profile.fingerprint != self.ctx.profile.fingerprint and client.profile.fingerprint:
            # The device now presents the backup's certificate, read from inside the backup itself.
            self.ctx.profile = replace(self.ctx.profile, fingerprint=client.profile.fingerprint)
            self.ctx.client = client
            if self.store is not None:
                self.store.save(self.ctx.profile)
            self.ctx.sessions.close()
        self.step = "unlock" if state is DeviceState.LOCKED else "check"
        nxt = "Ctrl+R: unlock with the backup's unlock shares." if state is DeviceState.LOCKED else (
            "Ctrl+R: check the inventory (needs an admin session).")
        full = self.plan is not None and self.plan.kind is RestoreKind.FULL
        pin = f"\nNow pinned: {client.profile.fingerprint}" if full else ""
        self.say(f"Restored; the device is {state.value}.{pin}\n{nxt}")

    def _unlocked(self, ok: bool | None) -> None:
        if ok:
            self.step = "check"
            self.say("Unlocked. Ctrl+R: check the inventory (an admin session is opened first).")

    def _check(self) -> None:
        plan, client, admin, journal = self.plan, self.ctx.client, self._admin(), self.ctx.journal
        if plan is None:
            return
        self.run_core("Check inventory", lambda: check_inventory(client, admin, plan, journal),
                      self._checked, mutation=True, on_error=self._failed)  # fmt: skip

    def _checked(self, check: InventoryCheck) -> None:
        self.step = "done" if check.ok else "check"
        verdict = "Inventory OK" if check.ok else "Inventory DIFFERS"
        self.say(f"{verdict}: {check.describe()}.\nEvery step is in the journal. Esc goes back.")

    def _forget(self) -> None:
        if self.passphrase is not None:
            self.passphrase.wipe()
            self.passphrase = None

    def action_back(self) -> None:
        self._forget()
        super().action_back()
