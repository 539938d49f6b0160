"""Making a backup against the emulator: streamed download, name, mode, manifest, checks, refusals."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hsmconsole.backup.create import LOCK_NAME, PARTIAL_PREFIX, create_backup
from hsmconsole.backup.inspect import inspect_backup
from hsmconsole.device.client import Credentials
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import AuthError, InputError, StateError
from hsmconsole.journal.chain import Journal
from hsmconsole.secrets import Secret
from tests.integration.backup_setup import BACKUP, UNLOCK, Device, admin, backup_user, prepare


@pytest.fixture
def device() -> Iterator[Device]:
    with EmbeddedEmulator() as emu:
        yield prepare(emu)


def test_backup_with_manifest_checked_contents(device: Device, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    seen: list[tuple[int, int | None]] = []
    result = create_backup(
        device.client(), backup_user(), tmp_path / "backups", backup_passphrase=Secret(BACKUP),
        admin=admin(), progress=lambda done, total: seen.append((done, total)), journal=journal,
    )  # fmt: skip
    data = result.path.read_bytes()
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.manifest_path.stat().st_mode) == 0o600
    m = json.loads(result.manifest_path.read_text())
    assert m["sha256"] == hashlib.sha256(data).hexdigest() and m["size"] == len(data)
    assert m["format_version"] == 1 and m["checked"] == "contents"
    assert m["device_id"] and result.path.name.startswith(m["device_id"] + "-")
    assert m["listed_by_device"]["keys"] == ["key0", "key1"]
    assert set(m["in_backup"]["users"]) == {"admin", "backup1", "operator1"}
    assert m["system"]["software_version"]
    assert seen[-1][0] == len(data) and seen[-1][1] in (len(data), None)
    assert [e.event.action for e in journal.entries()] == ["backup.create"]
    assert not [p for p in result.path.parent.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
    report = inspect_backup(result.path, backup_passphrase=Secret(BACKUP), unlock_passphrase=Secret(UNLOCK))
    assert [k.key_id for k in report.inventory.keys] == ["key0", "key1"]
    assert {k.key_type for k in report.inventory.keys} == {"Curve25519"}


def test_two_backups_in_one_second_never_overwrite(device: Device, tmp_path: Path) -> None:
    fixed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    a = create_backup(device.client(), backup_user(), tmp_path, now=lambda: fixed)
    b = create_backup(device.client(), backup_user(), tmp_path, now=lambda: fixed)
    assert a.path != b.path and a.path.exists() and b.path.exists()
    assert a.checked == "structure" and a.path.name.startswith("bk-test-20260102T030405Z")


def test_refusals_leave_nothing(device: Device, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(AuthError, match="may not make backups"):
        create_backup(device.client(), admin(), out)
    with pytest.raises(AuthError):
        create_backup(device.client(), Credentials("backup1", Secret("wrong-passphrase")), out)
    time.sleep(1.1)  # the device rate-limits a user for a second after a failed login
    with pytest.raises(InputError, match="backup passphrase does not open"):
        create_backup(device.client(), backup_user(), out, backup_passphrase=Secret("not it at all"))
    assert [p.name for p in out.iterdir()] == [LOCK_NAME]


def test_no_backup_passphrase_on_the_device(tmp_path: Path) -> None:
    with EmbeddedEmulator() as emu:
        dev = prepare(emu, keys=0, backup_passphrase=False)
        with pytest.raises(StateError, match="no backup passphrase"):
            create_backup(dev.client(), backup_user(), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_NAME]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_directory(device: Device, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(InputError, match="Cannot write"):
        create_backup(device.client(), backup_user(), ro)


def test_directory_path_is_a_file(device: Device, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="Cannot write"):
        create_backup(device.client(), backup_user(), tmp_path / "file" / "sub")


def test_full_disk_leaves_nothing(device: Device, tmp_path: Path) -> None:
    """A write that fails half-way (here: the file size limit, as a full disk would) is a clear
    message and no file; the next backup goes through."""
    import resource
    import signal

    out = tmp_path / "out"
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, old_limit[1]))
    try:
        with pytest.raises(InputError, match="Cannot write the backup") as info:
            create_backup(device.client(), backup_user(), out)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert "nothing was left behind" in info.value.hint
    assert [p.name for p in out.iterdir()] == [LOCK_NAME]
    assert create_backup(device.client(), backup_user(), out).path.exists()
