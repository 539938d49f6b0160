"""The `shares` and `journal` commands, run in-process through cli.main and once as a process."""

from __future__ import annotations

import base64
import getpass
import io
import itertools
import os
import stat
import subprocess
import sys
from pathlib import Path

import pyshamir
import pytest

from hsmconsole.cli import main
from hsmconsole.journal import Journal, JournalEvent, Outcome

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def split5(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A generated passphrase and its 3-of-5 split, made through the CLI."""
    secret = tmp_path / "unlock.txt"
    assert main(["shares", "generate", "--out", str(secret)]) == 0
    out = tmp_path / "shares"
    rc = main(["shares", "split", "--threshold", "3", "--shares", "5",
               "--secret-file", str(secret), "--out-dir", str(out)])  # fmt: skip
    assert rc == 0
    files = sorted(out.iterdir())
    assert len(files) == 5
    return secret, files


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_split_writes_private_files(split5: tuple[Path, list[Path]]) -> None:
    secret, files = split5
    assert mode(secret) == 0o600 and len(secret.read_bytes()) == 52
    for f in files:
        assert mode(f) == 0o600
        assert f.read_text().startswith("HSMC1 ")


def test_any_three_of_five_round_trip(split5: tuple[Path, list[Path]], tmp_path: Path) -> None:
    secret, files = split5
    for n, trio in enumerate(itertools.combinations(files, 3)):
        out = tmp_path / f"back{n}"
        assert main(["shares", "combine", *map(str, trio), "--out", str(out)]) == 0
        assert out.read_bytes() == secret.read_bytes()
        assert mode(out) == 0o600


def test_two_shares_refused(split5, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _, files = split5
    out = tmp_path / "never"
    assert main(["shares", "combine", str(files[0]), str(files[3]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "only 2 share(s)" in err and "needs 3" in err
    assert not out.exists()


def test_one_changed_character_is_refused_naming_the_share(split5, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _, files = split5
    text = files[1].read_text()
    pos = text.index(" ", 40) + 3
    bad = tmp_path / "bobs-share.txt"
    bad.write_text(text[:pos] + ("X" if text[pos] != "X" else "Y") + text[pos + 1 :])
    out = tmp_path / "never"
    rc = main(["shares", "combine", str(files[0]), str(bad), str(files[2]), "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "bobs-share.txt" in err and "group" in err and "typo" in err
    assert not out.exists()


def test_mix_of_two_splits_of_the_same_secret_refused(split5, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    secret, files = split5
    other = tmp_path / "other"
    assert main(["shares", "split", "-k", "3", "-n", "5", "--secret-file", str(secret),
                 "--out-dir", str(other)]) == 0  # fmt: skip
    capsys.readouterr()
    stranger = sorted(other.iterdir())[0]
    out = tmp_path / "never"
    rc = main(["shares", "combine", str(files[0]), str(files[1]), str(stranger), "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert stranger.name in err and "different splits" in err
    assert not out.exists()


def test_existing_output_is_never_overwritten(split5, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, files = split5
    out = tmp_path / "exists"
    out.write_bytes(b"keep me")
    assert main(["shares", "combine", *map(str, files[:3]), "--out", str(out)]) == 2
    assert out.read_bytes() == b"keep me"


def test_split_refuses_and_writes_nothing(tmp_path: Path) -> None:
    secret = tmp_path / "s"
    secret.write_bytes(b"some long secret text\n")
    out = tmp_path / "out"
    assert main(["shares", "split", "-k", "4", "-n", "3", "--secret-file", str(secret),
                 "--out-dir", str(out)]) == 2  # fmt: skip
    assert not out.exists()
    missing = ["shares", "split", "-k", "2", "-n", "3", "--secret-file", str(tmp_path / "nope"),
               "--out-dir", str(out)]  # fmt: skip
    assert main(missing) == 2
    assert not out.exists()


def test_stdin_for_secret_and_shares(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"my stdin secret, long\n")))
    out = tmp_path / "out"
    assert main(["shares", "split", "-k", "2", "-n", "2", "--secret-file", "-",
                 "--out-dir", str(out)]) == 0  # fmt: skip
    a, b = sorted(out.iterdir())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b.read_bytes())))
    back = tmp_path / "back"
    assert main(["shares", "combine", str(a), "-", "--out", str(back)]) == 0
    assert back.read_bytes() == b"my stdin secret, long"  # the trailing newline is not the secret


def test_check_reports_without_combining(split5, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _, files = split5
    capsys.readouterr()
    assert main(["shares", "check", str(files[0]), str(files[4])]) == 0
    out = capsys.readouterr().out
    assert "share 1 of 5, threshold 3" in out and "share 5 of 5" in out
    assert "not enough to combine" in out
    bad = tmp_path / "bad"
    text = files[2].read_text()
    bad.write_text(text[:8] + text[9:])  # a character of group 2 dropped
    assert main(["shares", "check", str(files[0]), str(bad)]) == 2
    captured = capsys.readouterr()
    assert "bad: REFUSED" in captured.out and "1 of 2" in captured.err


def test_raw_base64_shares_with_warning(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    parts = pyshamir.split(b"vault style secret", 3, 2)
    files = []
    for i, p in enumerate(parts[:2]):
        f = tmp_path / f"raw{i}"
        f.write_text(base64.b64encode(bytes(p)).decode() + "\n")
        files.append(str(f))
    out = tmp_path / "out"
    assert main(["shares", "combine", *files, "--out", str(out)]) == 2
    assert "--threshold" in capsys.readouterr().err
    assert main(["shares", "combine", *files, "--threshold", "2", "--out", str(out)]) == 0
    assert out.read_bytes() == b"vault style secret"
    assert "no checksum" in capsys.readouterr().err


def test_seal_and_open_with_getpass(split5, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _, files = split5
    answers = iter(["envelope passphrase 1", "envelope passphrase 1", "envelope passphrase 1"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    env = tmp_path / "alice.hsmenv"
    assert main(["shares", "seal", str(files[0]), "--out", str(env)]) == 0
    assert mode(env) == 0o600
    opened = tmp_path / "opened.share"
    assert main(["shares", "open", str(env), "--out", str(opened)]) == 0
    assert opened.read_text() == files[0].read_text()
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "wrong passphrase here")
    again = tmp_path / "again"
    assert main(["shares", "open", str(env), "--out", str(again)]) == 1
    assert "wrong passphrase" in capsys.readouterr().err
    assert not again.exists()


def test_journal_verify(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    for who in ("alice", "bob", "carol"):
        journal.append(JournalEvent(who, "ceremony.share-issued", Outcome.OK))
    assert main(["journal", "verify", str(path)]) == 0
    assert "OK, 3 entries" in capsys.readouterr().out
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2])
    assert main(["journal", "verify", str(path)]) == 1
    assert "line 2" in capsys.readouterr().err


def test_as_a_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    secret = tmp_path / "s"
    secret.write_bytes(b"process level secret")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hsmconsole", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
        )  # fmt: skip

    r = run("shares", "split", "-k", "2", "-n", "3", "--secret-file", "s", "--out-dir", "out")
    assert r.returncode == 0, r.stderr
    files = sorted(str(p) for p in (tmp_path / "out").iterdir())
    r = run("shares", "combine", files[0], "--out", "back")
    assert r.returncode == 2 and "needs 2" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "back").exists()
    r = run("shares", "combine", files[2], files[0], "--out", "back")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back").read_bytes() == b"process level secret"
    assert "process level secret" not in r.stdout + r.stderr
