"""Rehearse a disaster-recovery restore into a throwaway built-in emulator, step by step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hsmconsole.backup.restore import (
    RestoreKind,
    check_inventory,
    plan_restore,
    run_restore,
    unlock_restored,
)
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import HsmConsoleError, IntegrityError
from hsmconsole.journal.chain import Journal
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret

Say = Callable[[str], None]


@dataclass
class Rehearsal:
    """The steps run and how each ended; `ok` only if every step that ran succeeded."""

    steps: list[tuple[str, str]] = field(default_factory=list)  # (step, "ok" | "FAILED: …" | "skipped: …")

    @property
    def ok(self) -> bool:
        return bool(self.steps) and not any(r.startswith("FAILED") for _, r in self.steps)


def rehearse(
    path: Path | str,
    backup_passphrase: Secret,
    unlock: ShareCollector | Secret,
    admin: Credentials | None = None,
    *,
    say: Say | None = None,
    journal: Journal | None = None,
) -> Rehearsal:
    """Restore `path` into a fresh emulator (full restore), unlock with the given unlock shares or
    passphrase, and check the restored inventory with `admin` (the backup's admin passphrase). The
    emulator lives in memory and is gone afterwards; production is never touched."""
    out = Rehearsal()
    tell = say or (lambda _m: None)

    def step(name: str, result: str) -> None:
        out.steps.append((name, result))
        tell(f"{name}: {result}")

    with EmbeddedEmulator() as emu:
        client = DeviceClient(Profile("rehearsal", emu.host_port, fingerprint=emu.fingerprint))
        try:
            plan = plan_restore(client, path, backup_passphrase)
            if plan.kind is not RestoreKind.FULL:  # a fresh emulator is Unprovisioned
                raise IntegrityError("the throwaway emulator was not Unprovisioned")
            step("open and check the backup", f"ok ({'; '.join(plan.summary()[:2])})")
        except HsmConsoleError as exc:
            step("open and check the backup", f"FAILED: {exc}")
            return out
        try:
            client = run_restore(client, plan, backup_passphrase, journal=journal)
            step("full restore into a throwaway emulator", f"ok (device {client.state().value})")
        except HsmConsoleError as exc:
            step("full restore into a throwaway emulator", f"FAILED: {exc}")
            return out
        try:
            unlock_restored(client, unlock, journal)
            state = client.state()
            if state is not DeviceState.OPERATIONAL:
                raise IntegrityError(f"the device is {state.value} after the unlock")
            step("unlock with the backup's unlock passphrase", "ok (Operational)")
        except HsmConsoleError as exc:
            step("unlock with the backup's unlock passphrase", f"FAILED: {exc}")
            return out
        if admin is None:
            step("inventory check", "skipped: no admin passphrase or shares given")
            return out
        try:
            check = check_inventory(client, admin, plan, journal)
        except HsmConsoleError as exc:
            step("inventory check", f"FAILED: {exc}")
            return out
        step("inventory check", f"ok ({check.describe()})" if check.ok else f"FAILED: {check.describe()}")
    return out
