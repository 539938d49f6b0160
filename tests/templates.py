"""Provisioned device state directories made once per test session and copied for each test.

Provisioning derives the unlock key with the device's scrypt (N=16384, r=8, p=16: about 0.7 s, several
seconds on a loaded machine), and most tests need a provisioned device without testing provisioning.
A template is provisioned once per session (per pytest-xdist worker) and each test gets a copy of its
state directory: the emulator boots from it as a device does after a power cycle, so the product's key
derivation is unchanged, only not repeated. A copy boots Locked, or Operational through unattended
boot, which is then switched off again (so the device reads as freshly provisioned and unlocked).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nethsm

from hsmconsole.device.tls import pin_sdk
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.emulator.statelock import LOCK_FILE


@dataclass(frozen=True)
class Provisioning:
    """What a template was provisioned with: passphrases, the system time, and the state its copies
    boot into."""

    unlock: str
    admin: str
    operational: bool
    system_time: datetime | None = None  # None: the time the template is made


class DeviceTemplates:
    """State directories by Provisioning, made on first use under one session directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[Provisioning, Path] = {}

    def template(self, spec: Provisioning) -> Path:
        made = self._made.get(spec)
        if made is None:
            made = self.root / f"template-{len(self._made)}"
            _provision(made, spec)
            self._made[spec] = made
        return made

    def copy(self, spec: Provisioning, dest: Path) -> Path:
        """A fresh copy of the template's state directory at `dest` (which must not exist)."""
        shutil.copytree(self.template(spec), dest, ignore=shutil.ignore_patterns(LOCK_FILE))
        return dest

    def start(self, spec: Provisioning, dest: Path) -> EmbeddedEmulator:
        """A started emulator over a copy of the template (stop it when done)."""
        emulator = EmbeddedEmulator(self.copy(spec, dest))
        emulator.start()
        if spec.operational:
            emulator.hsm.set_unattended_boot(False)
        expected = "Operational" if spec.operational else "Locked"
        assert emulator.hsm.state.value == expected, emulator.hsm.state
        return emulator


def _provision(state_dir: Path, spec: Provisioning) -> None:
    with EmbeddedEmulator(state_dir) as emulator:
        anon = nethsm.NetHSM(emulator.host_port)
        pin_sdk(anon, emulator.fingerprint)
        anon.provision(spec.unlock, spec.admin, spec.system_time or datetime.now(UTC))
        anon.close()
        if spec.operational:
            admin = nethsm.NetHSM(emulator.host_port, nethsm.Authentication("admin", spec.admin))
            pin_sdk(admin, emulator.fingerprint)
            admin.set_unattended_boot(nethsm.UnattendedBootStatus.ON)
            admin.close()
        emulator.hsm.shutdown()  # what a clean power-off persists
    emulator.hsm.close()  # the store closed (checkpointed) before it is copied
