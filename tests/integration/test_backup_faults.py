"""Faults: the connection cut, or the console killed, at each step of backup and restore."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hsmconsole.backup.create import LOCK_NAME, PARTIAL_PREFIX, create_backup
from hsmconsole.backup.inspect import inspect_backup
from hsmconsole.backup.restore import check_inventory, plan_restore, run_restore, unlock_restored
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.device.tls import CertificateMismatch
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import ConnectionFailed, HsmConsoleError, StateError
from hsmconsole.journal.chain import Journal, Outcome
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
from tests.integration.cutproxy import CuttingProxy
from tests.integration.test_backup_restore import _factory_reset

pytestmark = pytest.mark.slow
SECRETS = (UNLOCK, ADMIN, BACKUP, BACKUP_USER)


@pytest.fixture
def device() -> Iterator[Device]:
    with EmbeddedEmulator() as emu:
        yield prepare(emu, keys=30)


def _target(dev: Device) -> tuple[str, int]:
    host, port = dev.emulator.host_port.rsplit(":", 1)
    return host, int(port)


def _via(proxy: CuttingProxy, dev: Device) -> DeviceClient:
    return DeviceClient(Profile("via-proxy", proxy.host_port, fingerprint=dev.profile.fingerprint))


def _no_secret_on_disk(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file() and path.parent.name != "chosen":
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, f"{secret!r} found in {path}"


def test_download_cut_at_every_stage_leaves_no_file(device: Device, tmp_path: Path) -> None:
    with CuttingProxy(_target(device)) as probe:
        create_backup(_via(probe, device), backup_user(), tmp_path / "probe")
        total = probe.down
    journal = Journal(tmp_path / "journal.jsonl")
    out = tmp_path / "out"
    for fraction in (0.05, 0.3, 0.6, 0.9, 0.99):
        proxy = CuttingProxy(_target(device), down_limit=int(total * fraction))
        with proxy, pytest.raises(HsmConsoleError) as info:
            create_backup(_via(proxy, device), backup_user(), out, journal=journal)
        assert info.value.title and "Traceback" not in str(info.value)
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME], fraction
    assert all(e.event.outcome is Outcome.FAILED for e in journal.entries())
    assert device.client().state() is DeviceState.OPERATIONAL
    good = create_backup(device.client(), backup_user(), out, backup_passphrase=Secret(BACKUP))
    assert good.checked == "contents"
    _no_secret_on_disk(tmp_path)


def test_restore_upload_cut_then_retried(device: Device, tmp_path: Path) -> None:
    made = create_backup(device.client(), backup_user(), tmp_path)
    _factory_reset(device)
    plan = plan_restore(device.client(), made.path, Secret(BACKUP))
    proxy = CuttingProxy(_target(device), up_limit=made.manifest["size"] // 2)
    with proxy, pytest.raises(ConnectionFailed):
        run_restore(_via(proxy, device), plan, Secret(BACKUP))
    # Nothing was restored: the device is as it was, and the same restore goes through.
    assert device.client().state() is DeviceState.UNPROVISIONED
    again = plan_restore(device.client(), made.path, Secret(BACKUP))
    client = run_restore(device.client(), again, Secret(BACKUP))
    unlock_restored(client, Secret(UNLOCK))
    assert check_inventory(client, admin(), plan).ok


def test_restore_answer_lost_device_is_locked_and_says_so(device: Device, tmp_path: Path) -> None:
    made = create_backup(device.client(), backup_user(), tmp_path)
    _factory_reset(device)
    plan = plan_restore(device.client(), made.path, Secret(BACKUP))
    size = made.manifest["size"]
    proxy = CuttingProxy(_target(device), up_limit=size + 500, mode="blackhole", hold=120)
    with proxy, pytest.raises(ConnectionFailed) as info:
        run_restore(_via(proxy, device), plan, Secret(BACKUP))
    assert "may or may not have been made" in info.value.hint
    # The restore did happen: the device is Locked with the backup's certificate, and the plan
    # says what to do next.
    after = Profile("after", device.emulator.host_port, fingerprint=plan.backup.tls_fingerprint)
    repinned = DeviceClient(after)
    # The lost answer may come before the device has finished restoring (a busy machine): it
    # presents the backup's certificate once it has. Until then the pin refuses it, sending nothing.
    deadline = time.monotonic() + 120
    while True:
        try:
            state = repinned.state()
            break
        except CertificateMismatch:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert state is DeviceState.LOCKED
    with pytest.raises(StateError, match="Unlock it"):
        plan_restore(repinned, made.path, Secret(BACKUP))
    unlock_restored(repinned, Secret(UNLOCK))
    assert check_inventory(repinned, admin(), plan).ok


def test_console_killed_mid_download(
    device: Device, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    monkeypatch.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
    chosen = tmp_path / "chosen"  # the 0600 file the person chose for the passphrase: not scanned
    chosen.mkdir()
    (chosen / "pp").write_text(BACKUP_USER + "\n")
    out = tmp_path / "out"
    with CuttingProxy(_target(device)) as probe:
        create_backup(_via(probe, device), backup_user(), tmp_path / "probe")
        total = probe.down
    with CuttingProxy(_target(device), down_limit=int(total * 0.7), mode="hang") as proxy:
        ProfileStore().save(Profile("hang", proxy.host_port, fingerprint=device.profile.fingerprint))
        cmd = [sys.executable, "-m", "hsmconsole", "backup", "create", "--profile", "hang", "--user",
               "backup1", "--passphrase-file", str(chosen / "pp"), "--out-dir", str(out),
               "--no-prompt"]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while not proxy.tripped.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            partials = list(out.glob(f"{PARTIAL_PREFIX}*"))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(10)
    assert partials, "the download should have been under way"
    names = [p.name for p in out.iterdir() if p.name != LOCK_NAME]
    assert all(n.startswith(PARTIAL_PREFIX) for n in names)  # nothing under a backup's name
    with pytest.raises(HsmConsoleError):  # the leftover is never taken for a good backup
        inspect_backup(out / names[0])
    good = create_backup(device.client(), backup_user(), out)
    assert [p.name for p in good.removed_partials] == names
    expected = sorted([LOCK_NAME, good.path.name, good.manifest_path.name])
    assert sorted(p.name for p in out.iterdir()) == expected
    assert device.client().state() is DeviceState.OPERATIONAL
    _no_secret_on_disk(tmp_path)
