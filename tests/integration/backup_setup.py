"""A provisioned emulator with a backup passphrase, a Backup user, users, a namespace and keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import nethsm

from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import pin_sdk
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret

UNLOCK = "unlock-passphrase-for-backup-tests"
ADMIN = "admin-passphrase-for-backup-tests"
BACKUP = "backup-passphrase-for-backup-tests"
BACKUP_USER = "backup-user-passphrase"


@dataclass
class Device:
    emulator: EmbeddedEmulator
    profile: Profile

    def client(self) -> DeviceClient:
        return DeviceClient(self.profile)

    def sdk(self, user: str | None = "admin", passphrase: str = ADMIN) -> nethsm.NetHSM:
        auth = nethsm.Authentication(user, passphrase) if user else None
        s = nethsm.NetHSM(self.emulator.host_port, auth=auth)
        pin_sdk(s, self.emulator.fingerprint)
        return s

    def repin(self) -> None:
        """After a restore the device presents the backup's certificate."""
        emu = self.emulator
        self.profile = Profile(self.profile.name, emu.host_port, fingerprint=emu.fingerprint)


def admin() -> Credentials:
    return Credentials("admin", Secret(ADMIN))


def backup_user() -> Credentials:
    return Credentials("backup1", Secret(BACKUP_USER))


def prepare(emulator: EmbeddedEmulator, *, keys: int = 2, backup_passphrase: bool = True) -> Device:
    profile = Profile("bk-test", emulator.host_port, fingerprint=emulator.fingerprint)
    dev = Device(emulator, profile)
    client = dev.client()
    client.provision(Secret(UNLOCK), Secret(ADMIN), datetime(2025, 1, 1, tzinfo=UTC))
    if backup_passphrase:
        client.set_backup_passphrase(admin(), Secret(BACKUP))
    client.add_user(admin(), "backup1", "Backup One", UserRole.BACKUP, Secret(BACKUP_USER))
    client.add_user(admin(), "operator1", "Operator One", UserRole.OPERATOR, Secret("operator-passphrase"))
    s = dev.sdk()
    try:
        for i in range(keys):
            mechanisms = [nethsm.KeyMechanism.EDDSA_SIGNATURE]
            s.generate_key(nethsm.KeyType.CURVE25519, mechanisms, 128, key_id=f"key{i}")
    finally:
        s.close()
    return dev
