"""Pilot fixtures: a real emulator over HTTPS, provisioned and locked through our own client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.secrets import Secret
from tests.templates import DeviceTemplates, Provisioning

UNLOCK = "unlock-passphrase-for-ui-tests"
ADMIN = "admin-passphrase-for-ui-tests"


@dataclass
class LockedDevice:
    emulator: EmbeddedEmulator
    profile: Profile
    unlock_shares: list[str]  # encoded share texts, 2 of 3
    admin_shares: list[str]

    def client(self) -> DeviceClient:
        return DeviceClient(self.profile)


class RecordingClient(DeviceClient):
    """The real client, noting which device-changing calls reached it (a spy, not a mock)."""

    calls: list[str]

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self.calls = []

    def unlock(self, passphrase: Secret) -> None:
        self.calls.append("unlock")
        super().unlock(passphrase)

    def check_admin(self, admin: Credentials) -> None:
        self.calls.append("check_admin")
        super().check_admin(admin)

    def set_backup_passphrase(
        self, admin: Credentials, new: Secret, current: Secret | None = None
    ) -> None:
        self.calls.append("set_backup_passphrase")
        super().set_backup_passphrase(admin, new, current)


# The devices the fixtures below hand out, provisioned once per session (tests/templates.py).
LOCKED_DEVICE = Provisioning(UNLOCK, ADMIN, operational=False)
UNLOCKED_DEVICE = Provisioning(UNLOCK, ADMIN, operational=True)


@pytest.fixture
def emulator(
    request: pytest.FixtureRequest, device_templates: DeviceTemplates, tmp_path: Path
) -> Iterator[EmbeddedEmulator]:
    """A fresh emulator of the test's own: unprovisioned and in memory, or, when the test asks for
    `locked` or `unlocked`, booted from a copy of a provisioned template (no scrypt per test)."""
    if "unlocked" in request.fixturenames:
        emu = device_templates.start(UNLOCKED_DEVICE, tmp_path / "device")
    elif "locked" in request.fixturenames:
        emu = device_templates.start(LOCKED_DEVICE, tmp_path / "device")
    else:
        emu = EmbeddedEmulator()
        emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def _device(emulator: EmbeddedEmulator) -> LockedDevice:
    profile = Profile("ui-test", emulator.host_port, fingerprint=emulator.fingerprint)

    def texts(secret: str, kind: SecretKind) -> list[str]:
        shares = split_secret(Secret(secret), threshold=2, count=3, kind=kind)
        return [encode_share(s).reveal_str() for s in shares]

    return LockedDevice(
        emulator, profile, texts(UNLOCK, SecretKind.UNLOCK), texts(ADMIN, SecretKind.ADMIN)
    )


@pytest.fixture
def locked(emulator: EmbeddedEmulator) -> LockedDevice:
    """A device provisioned with UNLOCK and ADMIN, Locked, and 2-of-3 shares of both passphrases."""
    assert emulator.hsm.state.value == "Locked"
    return _device(emulator)


@pytest.fixture
def unlocked(emulator: EmbeddedEmulator) -> LockedDevice:
    """The same device, unlocked (Operational), for tests that do not test unlocking."""
    assert emulator.hsm.state.value == "Operational"
    return _device(emulator)


@pytest.fixture
def store(tmp_path: Path) -> ProfileStore:
    return ProfileStore(tmp_path / "config")


async def settle(pilot: Pilot[Any], timeout: float = 120.0) -> None:
    """Wait until no worker runs and the screen has processed its messages."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while True:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        # A worker just created is still PENDING (not is_running), and a worker's result may push a
        # screen whose on_mount starts the next one: only two quiet rounds in a row count as
        # settled (a loaded machine, as with parallel tests, otherwise returns too early).
        quiet = quiet + 1 if all(w.is_finished for w in pilot.app.workers) else 0
        if quiet >= 2:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("workers did not finish")
