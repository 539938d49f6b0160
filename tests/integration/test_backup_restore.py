"""Disaster recovery against the emulator: back up, factory-reset, restore with a quorum, check."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import nethsm
import pytest

from hsmconsole.backup.create import create_backup
from hsmconsole.backup.rehearse import rehearse
from hsmconsole.backup.restore import (
    RestoreKind,
    check_inventory,
    plan_restore,
    run_restore,
    unlock_restored,
)
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import InputError, IntegrityError, StateError
from hsmconsole.journal.chain import Journal, verify_journal
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from tests.integration.backup_setup import (
    ADMIN,
    BACKUP,
    BACKUP_USER,
    UNLOCK,
    Device,
    admin,
    backup_user,
    prepare,
)

pytestmark = pytest.mark.slow  # each test restores (scrypt on the device) at least once


@pytest.fixture
def device() -> Iterator[Device]:
    with EmbeddedEmulator() as emu:
        yield prepare(emu)


def _collector(secret: str, kind: SecretKind, take: int = 2) -> ShareCollector:
    collector = ShareCollector(kind)
    for share in split_secret(Secret(secret), threshold=2, count=3, kind=kind)[:take]:
        collector.add(encode_share(share))
    return collector


def _factory_reset(dev: Device) -> None:
    s = dev.sdk()
    try:
        s.factory_reset()
    finally:
        s.close()
    for _ in range(100):  # the emulator reboots into Unprovisioned
        try:
            if dev.emulator.fingerprint and dev.client().state() is DeviceState.UNPROVISIONED:
                break
        except Exception:
            dev.repin()
        time.sleep(0.05)
    dev.repin()


def test_full_disaster_recovery_with_a_quorum(device: Device, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    made = create_backup(device.client(), backup_user(), tmp_path / "b", backup_passphrase=Secret(BACKUP),
                         admin=admin(), journal=journal)  # fmt: skip
    _factory_reset(device)
    assert device.client().state() is DeviceState.UNPROVISIONED

    plan = plan_restore(device.client(), made.path, Secret(BACKUP))
    assert plan.kind is RestoreKind.FULL and plan.manifest is not None
    client = run_restore(device.client(), plan, Secret(BACKUP), journal=journal)
    # The device now presents the backup's certificate, and the client pins exactly that one.
    assert client.profile.fingerprint == device.emulator.fingerprint
    assert client.state() is DeviceState.LOCKED
    unlock_restored(client, _collector(UNLOCK, SecretKind.UNLOCK), journal)
    assert client.state() is DeviceState.OPERATIONAL
    check = check_inventory(client, admin(), plan, journal)
    assert check.ok, check.describe()
    # The restored Backup user can make the next backup.
    again = create_backup(client, backup_user(), tmp_path / "b")
    assert again.path != made.path

    actions = [e.event.action for e in journal.entries()]
    assert actions == ["backup.create", "backup.restore", "unlock", "backup.restore.check"]
    assert verify_journal(journal.path).problem is None
    text = journal.path.read_text()
    for secret in (UNLOCK, ADMIN, BACKUP, BACKUP_USER):
        assert secret not in text


def test_wrong_unlock_shares_leave_the_device_locked(device: Device, tmp_path: Path) -> None:
    made = create_backup(device.client(), backup_user(), tmp_path)
    _factory_reset(device)
    plan = plan_restore(device.client(), made.path, Secret(BACKUP))
    client = run_restore(device.client(), plan, Secret(BACKUP))
    with pytest.raises(InputError, match="refused the unlock passphrase"):
        unlock_restored(client, _collector("some-other-unlock-passphrase", SecretKind.UNLOCK))
    assert client.state() is DeviceState.LOCKED
    time.sleep(1.1)
    unlock_restored(client, Secret(UNLOCK))
    assert client.state() is DeviceState.OPERATIONAL


def test_partial_restore_says_what_changes(device: Device, tmp_path: Path) -> None:
    made = create_backup(device.client(), backup_user(), tmp_path)
    s = device.sdk()
    try:
        s.delete_key("key0")
        s.generate_key(nethsm.KeyType.CURVE25519, [nethsm.KeyMechanism.EDDSA_SIGNATURE], 128, key_id="extra")
    finally:
        s.close()
    plan = plan_restore(device.client(), made.path, Secret(BACKUP), admin())
    assert plan.kind is RestoreKind.PARTIAL and plan.changes is not None
    assert plan.changes.added["keys"] == ("key0",) and plan.changes.removed["keys"] == ("extra",)
    assert any("DELETED" in line and "extra" in line for line in plan.summary())
    client = run_restore(device.client(), plan, Secret(BACKUP), admin())
    unlock_restored(client, Secret(UNLOCK))  # same domain key: stays Operational, nothing to do
    assert check_inventory(client, admin(), plan).ok


def test_restore_refusals(device: Device, tmp_path: Path) -> None:
    made = create_backup(device.client(), backup_user(), tmp_path)
    good = create_backup(device.client(), backup_user(), tmp_path)
    with pytest.raises(InputError, match="needs an Administrator"):
        plan_restore(device.client(), made.path, Secret(BACKUP))
    with pytest.raises(InputError, match="backup passphrase does not open"):
        plan_restore(device.client(), made.path, Secret("wrong backup passphrase"), admin())
    # A file changed after its manifest was written is refused before anything is sent.
    data = bytearray(made.path.read_bytes())
    data[-40] ^= 1
    made.path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        plan_restore(device.client(), made.path, Secret(BACKUP), admin())
    device.client().lock(admin())
    with pytest.raises(StateError, match="Locked"):
        plan_restore(device.client(), good.path, Secret(BACKUP))


def test_rehearsal_of_an_emulated_backup(device: Device, tmp_path: Path) -> None:
    made = create_backup(device.client(), backup_user(), tmp_path)
    lines: list[str] = []
    unlock = _collector(UNLOCK, SecretKind.UNLOCK)
    result = rehearse(made.path, Secret(BACKUP), unlock, admin(), say=lines.append)
    assert result.ok and len(result.steps) == 4, lines
    bad = rehearse(made.path, Secret(BACKUP), Secret("not the unlock passphrase"), admin())
    assert not bad.ok and bad.steps[-1][1].startswith("FAILED")
    # Production was never touched.
    assert device.client().state() is DeviceState.OPERATIONAL
    assert json.loads(made.manifest_path.read_text())["sha256"]
