"""`hsmconsole backup create|restore|rehearse` against the emulator, secrets only from files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hsmconsole.backup.create import LOCK_NAME
from hsmconsole.cli import main
from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.secrets import Secret
from tests.integration.backup_setup import ADMIN, BACKUP, BACKUP_USER, UNLOCK, Device, prepare

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Device, Path]]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with EmbeddedEmulator() as emu:
        dev = prepare(emu)
        ProfileStore().save(dev.profile)
        yield dev, tmp_path


def _file(tmp: Path, name: str, text: str) -> str:
    p = tmp / name
    p.write_text(text + "\n")
    return str(p)


def _shares(tmp: Path, secret: str, kind: SecretKind) -> list[str]:
    out = []
    for share in split_secret(Secret(secret), threshold=2, count=3, kind=kind)[:2]:
        p = tmp / f"{kind.value}-{share.index}.share"
        p.write_bytes(encode_share(share).reveal())
        out += [f"--{kind.value}-share-file", str(p)]
    return out


def test_create_then_rehearse_then_partial_restore(
    env: tuple[Device, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dev, tmp = env
    user_pp = _file(tmp, "user.pp", BACKUP_USER)
    rc = main(["backup", "create", "--profile", dev.profile.name, "--user", "backup1", "--passphrase-file",
               user_pp, "--out-dir", str(tmp / "out"), "--json", "--no-prompt",
               *_shares(tmp, BACKUP, SecretKind.BACKUP)])  # fmt: skip
    out = capsys.readouterr()
    assert rc == 0, out.err
    manifest = json.loads(out.out)
    path = manifest["path"]
    assert manifest["checked"] == "contents" and os.stat(path).st_mode & 0o777 == 0o600
    # The console's journal got the backup (XDG data dir), without secrets.
    journal = (tmp / "data" / "hsmconsole" / "journal.jsonl").read_text()
    assert "backup.create" in journal and BACKUP_USER not in journal

    admin_pp = _file(tmp, "a", ADMIN)
    rc = main(["backup", "rehearse", path, "--no-prompt", *_shares(tmp, BACKUP, SecretKind.BACKUP),
               *_shares(tmp, UNLOCK, SecretKind.UNLOCK), "--admin-passphrase-file", admin_pp])  # fmt: skip
    out = capsys.readouterr()
    assert rc == 0 and "Rehearsal passed: restore, unlock and inventory all good." in out.out

    backup_pp = _file(tmp, "b", BACKUP)
    args = ["backup", "restore", path, "--profile", dev.profile.name, "--no-prompt",
            "--backup-passphrase-file", backup_pp, "--admin-passphrase-file", admin_pp]  # fmt: skip
    rc = main(args)  # a partial restore without confirmation is refused
    out = capsys.readouterr()
    assert rc == 2 and "typed confirmation" in out.err and "Partial restore" in out.err
    rc = main([*args, "--confirm", "restore", *_shares(tmp, UNLOCK, SecretKind.UNLOCK)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "Inventory: every user, namespace and key of the backup is on the device" in out.out


def test_create_refusals_exit_codes(env: tuple[Device, Path], capsys: pytest.CaptureFixture[str]) -> None:
    dev, tmp = env
    rc = main(["backup", "create", "--profile", dev.profile.name, "--user", "backup1", "--no-prompt",
               "--out-dir", str(tmp / "out")])  # fmt: skip
    assert rc == 2 and "passphrase of backup1 is needed" in capsys.readouterr().err
    rc = main(["backup", "create", "--profile", dev.profile.name, "--user", "admin", "--no-prompt",
               "--passphrase-file", _file(tmp, "a", ADMIN), "--out-dir", str(tmp / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "may not make backups" in err and "Traceback" not in err
    assert [p.name for p in (tmp / "out").iterdir()] == [LOCK_NAME]
