"""`hsmconsole plan|apply|inventory|profile` in-process against the emulator: output and exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsmconsole.cli import main
from hsmconsole.emulator.server import EmbeddedEmulator
from tests.unit.test_admin_config import GOOD

from .conftest import ADMIN_PASSPHRASE

EXAMPLE = GOOD.replace(
    "{ generate = true, keyring = true }", '{ generate = true, file = "secrets/signer.pass" }'
)


@pytest.fixture
def setup(provisioned: EmbeddedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert (
        main(
            [
                "profile",
                "add",
                "emu",
                "--url",
                f"https://{provisioned.host_port}",
                "--fingerprint",
                provisioned.fingerprint,
            ]
        )
        == 0
    )
    (tmp_path / "admin.pass").write_text(ADMIN_PASSPHRASE + "\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "admin.toml").write_text(EXAMPLE)
    return tmp_path


def dev(tmp: Path) -> list[str]:
    return ["--profile", "emu", "--passphrase-file", str(tmp / "admin.pass")]


def test_plan_check_apply_then_in_sync(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf_dir = setup / "conf"
    conf = str(conf_dir / "admin.toml")
    assert main(["plan", conf, *dev(setup), "--check"]) == 1
    out = capsys.readouterr().out
    assert "+ create namespace repo" in out and "[line 16]" in out
    assert main(["apply", conf, *dev(setup), "--yes", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "\r[" not in captured.err  # no progress bar in a pipe
    assert len(report["applied"]) == 6 and report["not_applied"] == [] and report["failed"] is None
    assert main(["plan", conf, *dev(setup), "--check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["in_sync"] is True
    assert main(["apply", conf, *dev(setup), "--yes"]) == 0
    assert "nothing to change" in capsys.readouterr().err
    # The namespace's own administrator plans only its namespace, and finds it in sync.
    ns_admin = [
        "--profile",
        "emu",
        "--user",
        "repo~admin",
        "--passphrase-file",
        str(conf_dir / "secrets/repo-admin.pass"),
    ]
    assert main(["plan", conf, *ns_admin, "--check", "--prune"]) == 0
    assert "only namespace repo was compared" in capsys.readouterr().out
    journal = (setup / "data" / "hsmconsole" / "journal.jsonl").read_text()
    assert "admin.key.generate" in journal and ADMIN_PASSPHRASE not in journal


def test_inventory_json_lists_users_namespaces_and_keys_with_public_data(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = str(setup / "conf" / "admin.toml")
    assert main(["apply", conf, *dev(setup), "--yes"]) == 0
    capsys.readouterr()
    assert main(["inventory", *dev(setup), "--json"]) == 0
    inv = json.loads(capsys.readouterr().out)
    assert inv["namespaces"] == ["repo"] and inv["keys"] == [] and inv["unread_namespaces"] == ["repo"]
    assert {u["id"] for u in inv["users"]} == {"admin", "repo~admin", "repo~signer"}
    assert main(["inventory", *dev(setup), "--json", "--config", conf]) == 0
    (key,) = json.loads(capsys.readouterr().out)["keys"]
    assert key["namespace"] == "repo" and key["bits"] == 3072 and key["tags"] == ["repo"]
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


def test_bad_input_exits_2_with_the_line_and_sends_nothing(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = setup / "conf" / "bad.toml"
    bad.write_text(EXAMPLE.replace("length = 3072", "length = 100"))
    assert main(["apply", str(bad), *dev(setup), "--yes"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:20:" in err and "cannot be 100 bits" in err
    # Nothing was sent: the device was not even asked to sign in (no journal was written).
    assert not (setup / "data" / "hsmconsole" / "journal.jsonl").exists()
    assert main(["plan", str(setup / "conf" / "missing.toml"), *dev(setup)]) == 2
    assert main(["plan", str(bad), "--profile", "nope", "--passphrase-file", "x"]) == 2


def test_wrong_passphrase_and_conflicts_exit_1(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = setup / "conf" / "admin.toml"
    assert main(["apply", str(conf), *dev(setup), "--yes"]) == 0
    conf.write_text(
        EXAMPLE.replace(
            'type = "RSA"\nlength = 3072\nmechanisms = ["RSA_Signature_PKCS1"]',
            'type = "Curve25519"\nmechanisms = ["EdDSA_Signature"]',
        )
    )
    capsys.readouterr()
    assert main(["apply", str(conf), *dev(setup), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "CONFLICT key repo/repo-rsa [line 16]" in err and "nothing was changed" in err
    # Last: a failed sign-in makes the device refuse this user for a second (rate limit).
    (setup / "wrong.pass").write_text("not-the-passphrase")
    assert main(["plan", str(conf), "--profile", "emu", "--passphrase-file", str(setup / "wrong.pass")]) == 1
    assert "wrong user name or passphrase" in capsys.readouterr().err


def test_apply_without_yes_in_a_pipe_refuses(setup: Path) -> None:
    assert main(["apply", str(setup / "conf" / "admin.toml"), *dev(setup)]) == 2


def test_profile_list_and_remove(
    setup: Path, capsys: pytest.CaptureFixture[str], provisioned: EmbeddedEmulator
) -> None:
    capsys.readouterr()
    assert main(["profile", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "emu" and row["fingerprint"] == provisioned.fingerprint
    assert main(["profile", "add", "emu", "--url", provisioned.host_port, "--fetch-fingerprint"]) == 2
    assert main(["profile", "add", "emu2", "--url", provisioned.host_port, "--fetch-fingerprint"]) == 0
    assert provisioned.fingerprint in capsys.readouterr().err
    assert main(["profile", "add", "x", "--url", "http://h", "--fingerprint", provisioned.fingerprint]) == 2
    assert main(["profile", "add", "x", "--url", "h", "--fingerprint", "abc"]) == 2
    assert main(["profile", "remove", "emu2"]) == 0
    assert main(["profile", "remove", "emu2"]) == 2


def test_keyring_passphrases_are_generated_remembered_and_forgotten_with_the_profile(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.keyrings import MemoryKeyring, installed

    conf = setup / "conf" / "keyring.toml"
    conf.write_text(GOOD)  # repo~signer: { generate = true, keyring = true }
    with installed(MemoryKeyring()) as ring:
        assert main(["apply", str(conf), *dev(setup), "--yes"]) == 0
        kept = ring.items[("hsmconsole", "emu/repo~signer")]  # type: ignore[attr-defined]
        assert len(kept) == 52
        assert main(["plan", str(conf), *dev(setup), "--check"]) == 0
        capsys.readouterr()
        assert main(["profile", "list", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)[0]["users"] == ["repo~signer"]
        assert main(["profile", "remove", "emu"]) == 0
        assert ("hsmconsole", "emu/repo~signer") not in ring.items  # type: ignore[attr-defined]


def test_admin_shares_open_the_session_checked_as_shares_combine(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hsmconsole.custody.shares import SecretKind, encode_share
    from hsmconsole.custody.split import split_secret
    from hsmconsole.secrets import Secret

    shares = split_secret(Secret(ADMIN_PASSPHRASE), threshold=2, count=3, kind=SecretKind.ADMIN)
    files = []
    for share in shares:
        path = setup / f"admin-{share.index}.share"
        path.write_bytes(encode_share(share).reveal())
        files.append(str(path))
    conf = str(setup / "conf" / "admin.toml")
    assert main(["plan", conf, "--profile", "emu", "--share-file", files[0]]) == 2
    assert "needs 2" in capsys.readouterr().err
    unlock = split_secret(Secret("unlockunlock"), threshold=2, count=2, kind=SecretKind.UNLOCK)
    other = setup / "unlock.share"
    other.write_bytes(encode_share(unlock[0]).reveal())
    assert main(["plan", conf, "--profile", "emu", "--share-file", str(other), "--share-file", files[0]]) == 2
    capsys.readouterr()
    assert (
        main(["apply", conf, "--profile", "emu", "--share-file", files[0], "--share-file", files[2], "--yes"])
        == 0
    )
    journal = (setup / "data" / "hsmconsole" / "journal.jsonl").read_text()
    assert shares[0].set.set_id in journal and '"action":"admin.session.open"' in journal


def test_progress_bar_on_a_terminal_only(setup: Path) -> None:
    """stderr a terminal: a progress line; a pipe: messages only (the other tests run in pipes)."""
    import os
    import pty
    import subprocess
    import sys

    conf = str(setup / "conf" / "admin.toml")
    main_fd, tty_fd = pty.openpty()
    env = {**os.environ, "XDG_CONFIG_HOME": str(setup / "config"), "XDG_DATA_HOME": str(setup / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "hsmconsole", "apply", conf, *dev(setup), "--yes"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=tty_fd, env=env, timeout=120,
    )  # fmt: skip
    os.close(tty_fd)
    seen = b""
    try:
        while chunk := os.read(main_fd, 65536):
            seen += chunk
    except OSError:  # the terminal's other end is closed: everything was read
        pass
    os.close(main_fd)
    assert proc.returncode == 0
    assert b"\r[" in seen and b"] 5/6 " in seen and b"Applied 6 change(s)." in seen


def test_apply_with_backup_to_makes_a_backup_after_the_change(
    setup: Path, provisioned: EmbeddedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from hsmconsole.device.client import Credentials, DeviceClient
    from hsmconsole.device.profiles import ProfileStore
    from hsmconsole.models import UserRole
    from hsmconsole.secrets import Secret

    client = DeviceClient(ProfileStore().get("emu"))
    admin = Credentials("admin", Secret(ADMIN_PASSPHRASE))
    client.set_backup_passphrase(admin, Secret("backup-passphrase-of-the-test"))
    client.add_user(admin, "backup", "Backup robot", UserRole.BACKUP, Secret("backup-user-passphrase"))
    (setup / "backup.pass").write_text("backup-user-passphrase\n")
    conf = str(setup / "conf" / "admin.toml")
    out_dir = setup / "backups"
    backup_args = ["--backup-to", str(out_dir), "--backup-user-passphrase-file"]

    # A missing passphrase file is bad input found before anything is changed.
    assert main(["apply", conf, *dev(setup), "--yes", *backup_args, str(setup / "nope")]) == 2
    capsys.readouterr()
    assert main(["plan", conf, *dev(setup), "--check"]) == 1  # still pending: nothing was applied
    capsys.readouterr()

    good = str(setup / "backup.pass")
    assert main(["apply", conf, *dev(setup), "--yes", "--json", *backup_args, good]) == 0
    report = json.loads(capsys.readouterr().out)
    made = Path(report["backup"]["path"])
    assert made.parent == out_dir and made.exists() and (made.stat().st_mode & 0o777) == 0o600
    manifest = json.loads(Path(report["backup"]["manifest"]).read_text())
    assert "repo" in manifest["listed_by_device"]["namespaces"]  # made after the apply
    assert main(["plan", conf, *dev(setup), "--check"]) == 0  # the backup came after the apply


def test_end_of_input_at_the_confirmation_changes_nothing(
    setup: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl+D at "Apply these changes?" is a refusal (exit 2), not an internal error."""

    def end_of_input(_prompt: str = "") -> str:
        raise EOFError

    conf = str(setup / "conf" / "admin.toml")
    monkeypatch.setattr("hsmconsole.commands.admin.stdin_is_terminal", lambda: True)
    monkeypatch.setattr("builtins.input", end_of_input)
    assert main(["apply", conf, *dev(setup)]) == 2
    assert "nothing was changed" in capsys.readouterr().err
    assert main(["plan", conf, *dev(setup), "--check"]) == 1  # still pending
