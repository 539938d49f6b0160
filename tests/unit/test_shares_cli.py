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
from hsmconsole.journal.chain import Journal, JournalEvent, Outcome

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
    lines = path.read_bytes().splitlines(keepends=True)
    out = capsys.readouterr().out
    assert "OK, 3 entries" in out
    head = out.split("head ")[1].strip()
    assert main(["journal", "verify", str(path), "--head", head.upper()]) == 0  # copied from paper
    assert main(["journal", "verify", str(path), "--head", "0" * 64]) == 1
    capsys.readouterr()
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


# --- what goes wrong says what went wrong, never with a traceback -------------------------------


def test_a_file_where_a_directory_should_be_is_named(split5, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    secret, files = split5
    afile = tmp_path / "afile"
    afile.write_bytes(b"not a directory")
    capsys.readouterr()
    for out_dir in (afile, afile / "sub"):
        rc = main(["shares", "split", "-k", "2", "-n", "3", "--secret-file", str(secret),
                   "--out-dir", str(out_dir)])  # fmt: skip
        assert rc == 2
        err = capsys.readouterr().err
        assert f"{afile} is a file, not a directory" in err and "already exists" not in err
    for args in (["shares", "combine", *map(str, files[:3])], ["shares", "generate"]):
        assert main([*args, "--out", str(afile / "x")]) == 2
        err = capsys.readouterr().err
        assert f"{afile} is a file, not a directory" in err and "already exists" not in err
    assert afile.read_bytes() == b"not a directory"


def test_seal_without_a_terminal_says_so(split5, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _, files = split5

    def no_terminal(prompt: str = "") -> str:
        raise EOFError  # what getpass does with no terminal and an empty stdin

    monkeypatch.setattr(getpass, "getpass", no_terminal)
    env = tmp_path / "env"
    assert main(["shares", "seal", str(files[0]), "--out", str(env)]) == 2
    assert "no passphrase could be read (no terminal)" in capsys.readouterr().err
    assert not env.exists()


def test_an_unexpected_error_is_one_line_without_its_message(  # type: ignore[no-untyped-def]
    split5, monkeypatch, capsys
) -> None:
    _, files = split5

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("hsmc1 secret share text 4k7w2c9hzq8x")

    monkeypatch.setattr("hsmconsole.commands.inputs.parse_shares", broken)
    capsys.readouterr()
    assert main(["shares", "check", str(files[0])]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "hsmconsole: internal error (RuntimeError); nothing secret was printed. Please report it.\n"
    )
    assert "4k7w2c9hzq8x" not in captured.out + captured.err


def test_secret_file_line_endings(tmp_path: Path) -> None:
    cases = {
        b"a long enough secret\n": b"a long enough secret",
        b"a long enough secret\r\n": b"a long enough secret",
        b"a long enough secret\r": b"a long enough secret\r",  # a lone CR is not a line ending
        b"a long enough secret\n\n": b"a long enough secret\n",  # only one line ending goes
        b"a long enough secret\n\r\n": b"a long enough secret\n",
    }
    for n, (content, expected) in enumerate(cases.items()):
        (tmp_path / f"s{n}").write_bytes(content)
        out = tmp_path / f"out{n}"
        assert main(["shares", "split", "-k", "2", "-n", "2", "--secret-file", str(tmp_path / f"s{n}"),
                     "--out-dir", str(out)]) == 0  # fmt: skip
        back = tmp_path / f"back{n}"
        assert main(["shares", "combine", *map(str, sorted(out.iterdir())), "--out", str(back)]) == 0
        assert back.read_bytes() == expected, content


def test_share_files_may_start_with_a_byte_order_mark(split5, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret, files = split5
    marked = []
    for f in files[:3]:
        m = tmp_path / f"bom-{f.name}"
        m.write_bytes(b"\xef\xbb\xbf" + f.read_bytes().replace(b"\n", b"\r\n"))
        marked.append(str(m))
    out = tmp_path / "back"
    assert main(["shares", "combine", *marked, "--out", str(out)]) == 0
    assert out.read_bytes() == secret.read_bytes()


def test_expected_set_and_generation_are_checked(split5, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _, files = split5
    set_id = files[0].name.split("-")[1]
    out = tmp_path / "back"
    trio = list(map(str, files[:3]))
    for bad in (["--expect-generation", "0"], ["--expect-generation", "70000"], ["--expect-set", "short"]):
        assert main(["shares", "combine", *trio, "--out", str(out), *bad]) == 2
        assert "--expect-" in capsys.readouterr().err
    assert main(["shares", "combine", *trio, "--out", str(out), "--expect-generation", "2"]) == 2
    assert "generation 2" in capsys.readouterr().err
    assert not out.exists()
    look_alike = set_id.lower().replace("0", "o").replace("1", "l")
    assert main(["shares", "combine", *trio, "--out", str(out), "--expect-set", look_alike,
                 "--expect-generation", "1"]) == 0  # fmt: skip


def test_failures_as_a_process_print_no_traceback(split5, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret, files = split5
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    (tmp_path / "afile").write_bytes(b"")
    sealed = tmp_path / "ok.hsmenv"
    answers = iter(["envelope passphrase 1"] * 2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(getpass, "getpass", lambda prompt="": next(answers))
        assert main(["shares", "seal", str(files[0]), "--out", str(sealed)]) == 0
    magic, header, body, _ = sealed.read_bytes().split(b"\n")
    crafted = {
        "inf": header.replace(b'"memory_kib":65536', b'"memory_kib":1e999'),
        "deep": b"[" * 100_000,
    }
    for name, h in crafted.items():
        (tmp_path / f"{name}.hsmenv").write_bytes(b"\n".join([magic, h, body, b""]))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # A new session has no controlling terminal, so getpass cannot open /dev/tty.
        return subprocess.run(
            [sys.executable, "-m", "hsmconsole", *args], stdin=subprocess.DEVNULL,
            capture_output=True, text=True, env=env, cwd=tmp_path, check=False, start_new_session=True,
        )  # fmt: skip

    cases = [
        (["shares", "split", "-k", "2", "-n", "3", "--secret-file", str(secret), "--out-dir", "afile/d"], 2),
        (["shares", "seal", str(files[0]), "--out", "new.hsmenv"], 2),
        (["shares", "open", "inf.hsmenv", "--out", "x"], 1),
        (["shares", "open", "deep.hsmenv", "--out", "x"], 1),
    ]
    for args, rc in cases:
        r = run(*args)
        assert r.returncode == rc, (args, r.stderr)
        assert "Traceback" not in r.stderr and "Error:" not in r.stderr, (args, r.stderr)
    assert not (tmp_path / "new.hsmenv").exists() and not (tmp_path / "x").exists()


def test_open_never_reads_the_passphrase_from_piped_stdin(split5, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The help says the passphrase is never read from a file; a pipe is a file too.
    _, files = split5
    sealed = tmp_path / "ok.hsmenv"
    answers = iter(["envelope passphrase 1"] * 2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(getpass, "getpass", lambda prompt="": next(answers))
        assert main(["shares", "seal", str(files[0]), "--out", str(sealed)]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    opening = ["shares", "open", str(sealed), "--out", "x"]
    for args in (opening, ["shares", "seal", str(files[0]), "--out", "y"]):
        r = subprocess.run(
            [sys.executable, "-m", "hsmconsole", *args], input="envelope passphrase 1\n" * 2,
            capture_output=True, text=True, env=env, cwd=tmp_path, check=False, start_new_session=True,
        )  # fmt: skip
        assert r.returncode == 2, (args, r.stderr)
        assert "no terminal" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    helptext = subprocess.run(
        [sys.executable, "-m", "hsmconsole", "shares", "open", "--help"],
        capture_output=True, text=True, env=env, check=False,
    ).stdout  # fmt: skip
    assert "never" in helptext and "pipe" in helptext
