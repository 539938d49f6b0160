"""Offline inspection of backups: the real device vectors, bad input, and mutated files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsmconsole.backup.inspect import inspect_backup
from hsmconsole.backup.inventory import Inventory, diff_inventories
from hsmconsole.cli import main
from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.errors import HsmConsoleError, InputError, IntegrityError
from hsmconsole.secrets import Secret

VECTORS = Path(__file__).resolve().parents[1] / "reference" / "backup-vectors"
BACKUP_PP, UNLOCK_PP = "backupbackup", "unlockunlock"
@pytest.mark.parametrize("version", [0, 1])
def test_real_vectors_open_both_layers(version: int) -> None:
    report = inspect_backup(
        VECTORS / f"v{version}.bin",
        backup_passphrase=Secret(BACKUP_PP),
        unlock_passphrase=Secret(UNLOCK_PP),
    )
    assert report.version == version
    assert report.device_id == ("0000000000" if version == 1 else "")
    assert report.records == (17 if version == 1 else 16)
    inv = report.inventory
    assert inv.user_ids == ("admin", "backup", "operator") and inv.key_ids == ("mykey",)
    assert [(u.user_id, u.role) for u in inv.users] == [
        ("admin", "Administrator"), ("backup", "Backup"), ("operator", "Operator")
    ]
    (key,) = inv.keys
    assert (key.key_id, key.key_type, key.mechanisms, key.certificate) == (
        "mykey", "Curve25519", ("EdDSA_Signature",), False
    )
    text = json.dumps(report.to_json())
    assert "PRIVATE" not in text and "priv" not in text


def test_without_passphrases_only_the_framing() -> None:
    report = inspect_backup(VECTORS / "v1.bin")
    assert (report.version, report.size, report.opened) == (1, 2974, False)
    assert report.sha256.startswith("7889a50f")


def test_outer_layer_alone_gives_ids() -> None:
    report = inspect_backup(VECTORS / "v1.bin", backup_passphrase=Secret(BACKUP_PP))
    assert report.opened and not report.detailed
    assert report.inventory.user_ids == ("admin", "backup", "operator")


@pytest.mark.parametrize(
    ("backup", "unlock", "error", "words"),
    [
        ("wrong", None, InputError, "backup passphrase does not open"),
        (BACKUP_PP, "wrong", InputError, "unlock passphrase does not open"),
    ],
)
def test_wrong_passphrases(
    backup: str, unlock: str | None, error: type[HsmConsoleError], words: str
) -> None:
    with pytest.raises(error) as info:
        inspect_backup(
            VECTORS / "v1.bin", backup_passphrase=Secret(backup),
            unlock_passphrase=Secret(unlock) if unlock else None,
        )  # fmt: skip
    assert words in info.value.title


def _write(tmp_path: Path, data: bytes) -> Path:
    p = tmp_path / "b.bin"
    p.write_bytes(data)
    return p


def test_other_format_version_and_not_a_backup(tmp_path: Path) -> None:
    data = bytearray((VECTORS / "v1.bin").read_bytes())
    data[15] = 7
    with pytest.raises(InputError, match="format this console does not read"):
        inspect_backup(_write(tmp_path, bytes(data)), backup_passphrase=Secret(BACKUP_PP))
    with pytest.raises(InputError, match="not a NetHSM backup"):
        inspect_backup(_write(tmp_path, b"hello world, not a backup at all"))
    with pytest.raises(InputError, match="directory"):
        inspect_backup(tmp_path)
    with pytest.raises(InputError, match="Cannot read"):
        inspect_backup(tmp_path / "missing.bin")


def test_truncated_and_trailing_garbage(tmp_path: Path) -> None:
    data = (VECTORS / "v1.bin").read_bytes()
    with pytest.raises(IntegrityError, match="cut short"):
        inspect_backup(_write(tmp_path, data[:-30]))
    with pytest.raises(IntegrityError, match="cut short"):
        inspect_backup(_write(tmp_path, data[:-5]))
    with pytest.raises(IntegrityError, match="end marker"):
        inspect_backup(_write(tmp_path, data + b"x"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_backups_never_pass_for_good(tmp_path: Path, data: st.DataObject) -> None:
    """A cut or flipped file is refused with one of our errors, or (a flip in the cleartext
    framing that still parses) reads as the original; it never opens as something else."""
    name = data.draw(st.sampled_from(["v0", "v1"]))
    original = (VECTORS / f"{name}.bin").read_bytes()
    damaged = bytearray(original)
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(0, len(original) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.integers(0, len(original) - 1))
            damaged[i] ^= 1 << data.draw(st.integers(0, 7))
    if bytes(damaged) == original:
        return
    path = _write(tmp_path, bytes(damaged))
    try:
        report = inspect_backup(
            path, backup_passphrase=Secret(BACKUP_PP), unlock_passphrase=Secret(UNLOCK_PP)
        )
    except HsmConsoleError as exc:
        assert exc.title and exc.hint
        return
    # v0 has no trailer: a cut exactly between records is only visible as missing records.
    assert name == "v0" and len(damaged) < len(original)
    assert report.records < 16


def test_diff_of_inventories() -> None:
    old = Inventory(("admin", "op"), (), ("k1", "k2"))
    new = Inventory(("admin",), ("ns1",), ("k2", "k3"))
    d = diff_inventories(old, new)
    assert d.added == {"users": (), "namespaces": ("ns1",), "keys": ("k3",)}
    assert d.removed == {"users": ("op",), "namespaces": (), "keys": ("k1",)}
    assert diff_inventories(old, old).empty


# --- the command line ---------------------------------------------------------------------


def _secret_file(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text + "\n")
    return str(p)


def test_cli_inspect_json_from_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bp = _secret_file(tmp_path, "bp", BACKUP_PP)
    up = _secret_file(tmp_path, "up", UNLOCK_PP)
    rc = main(["backup", "inspect", str(VECTORS / "v0.bin"), "--backup-passphrase-file", bp,
               "--unlock-passphrase-file", up, "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["format_version"] == 0 and [k["id"] for k in out["keys"]] == ["mykey"]


def test_cli_inspect_from_share_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = []
    shares = split_secret(Secret(BACKUP_PP), threshold=2, count=3, kind=SecretKind.BACKUP)
    for i, share in enumerate(shares):
        p = tmp_path / f"s{i}.share"
        p.write_bytes(encode_share(share).reveal())
        files += ["--backup-share-file", str(p)]
    rc = main(["backup", "inspect", str(VECTORS / "v1.bin"), *files[:4], "--json", "--no-prompt"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["users"] == ["admin", "backup", "operator"]
    # One share of a 2-of-3 set is not a quorum: refused, exit 2, no traceback.
    rc = main(["backup", "inspect", str(VECTORS / "v1.bin"), *files[:2], "--no-prompt"])
    err = capsys.readouterr().err
    assert rc == 2 and "needs 2" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("mangle", "code", "words"),
    [
        (lambda d: d[:1000], 1, "incomplete"),
        (lambda d: b"PK\x03\x04 a zip file", 2, "not a NetHSM backup"),
        (lambda d: d[:15] + b"\x05" + d[16:], 2, "does not read"),
        (lambda d: d[:400] + bytes([d[400] ^ 1]) + d[401:], 1, "altered or damaged"),
    ],
)
def test_cli_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       mangle: object, code: int, words: str) -> None:  # fmt: skip
    path = _write(tmp_path, mangle((VECTORS / "v1.bin").read_bytes()))  # type: ignore[operator]
    rc = main(["backup", "inspect", str(path), "--backup-passphrase-file",
               _secret_file(tmp_path, "bp", BACKUP_PP), "--no-prompt"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == code and words in err and "Traceback" not in err


def test_cli_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bp = _secret_file(tmp_path, "bp", BACKUP_PP)
    rc = main(["backup", "diff", str(VECTORS / "v0.bin"), str(VECTORS / "v1.bin"),
               "--backup-passphrase-file", bp, "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["added"]["keys"] == [] and out["new"]["device_id"] == "0000000000"
    rc = main(["backup", "diff", str(VECTORS / "v0.bin"), str(VECTORS / "v1.bin"), "--no-prompt"])
    assert rc == 2 and "needs the backup passphrase" in capsys.readouterr().err
