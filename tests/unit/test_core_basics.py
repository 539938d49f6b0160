"""Secret redaction, atomic 0600 writes, profile storage and fingerprint handling."""

from __future__ import annotations

import contextlib
import os
import pickle
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsmconsole.device.profiles import Profile, ProfileStore, default_config_dir, default_data_dir
from hsmconsole.device.tls import (
    CertificateMismatch,
    fingerprint_of,
    normalize_fingerprint,
    presented_in,
    split_host_port,
)
from hsmconsole.device.trust import TrustCheck, TrustVerdict, mismatch_error
from hsmconsole.errors import InputError
from hsmconsole.fileio import append_private, write_private
from hsmconsole.models import DeviceState, actions_for
from hsmconsole.secrets import Secret


def test_secret_never_prints_its_value() -> None:
    s = Secret("correct horse battery staple", label="unlock passphrase")
    for text in (repr(s), str(s), f"{s}", f"{s!r}", f"{s:>40}", repr([s]), repr({"k": s})):
        assert "horse" not in text
        assert "redacted" in text
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        hash(s)


def test_secret_wipe_and_compare() -> None:
    a, b = Secret(b"abc"), Secret(b"abc")
    assert a == b
    assert a != Secret(b"abd")
    a.wipe()
    assert a.wiped
    with pytest.raises(ValueError, match="wiped"):
        a.reveal()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_private_is_0600_and_refuses_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.bin"
    write_private(target, b"one")
    assert target.read_bytes() == b"one"
    assert _mode(target) == 0o600
    with pytest.raises(FileExistsError):
        write_private(target, b"two")
    assert target.read_bytes() == b"one"
    write_private(target, b"two", overwrite=True)
    assert target.read_bytes() == b"two"
    assert _mode(target) == 0o600
    # No temporary files are left behind.
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]


def test_append_private(tmp_path: Path) -> None:
    target = tmp_path / "j.jsonl"
    append_private(target, b"a\n")
    append_private(target, b"b\n")
    assert target.read_bytes() == b"a\nb\n"
    assert _mode(target) == 0o600


def test_profiles_round_trip_and_are_private(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    fp = "ab" * 32
    store.save(Profile("lab", "192.0.2.10:8443", fingerprint=fp, users=("admin", "backup")))
    store.save(Profile("insecure-one", "hsm.example", insecure=True))
    loaded = store.load()
    assert loaded["lab"].fingerprint == normalize_fingerprint(fp)
    assert loaded["lab"].users == ("admin", "backup")
    assert loaded["insecure-one"].insecure and not loaded["insecure-one"].pinned
    assert _mode(store.path) == 0o600
    store.delete("lab")
    assert set(store.load()) == {"insecure-one"}
    with pytest.raises(InputError, match="No profile named 'lab'"):
        store.get("lab")


@pytest.mark.parametrize("bad", ["", "has space", "a/b"])
def test_profile_rejects_bad_hosts(bad: str) -> None:
    with pytest.raises(InputError):
        Profile("x", bad)


def test_corrupt_profile_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text("[profiles\n")
    with pytest.raises(InputError, match="Cannot read"):
        ProfileStore(tmp_path).load()


@given(st.binary(min_size=1, max_size=64))
def test_fingerprint_normalization_round_trips(der: bytes) -> None:
    fp = fingerprint_of(der)
    assert normalize_fingerprint(fp) == fp
    assert normalize_fingerprint(fp.replace(":", "").lower()) == fp


@given(st.text(max_size=80))
def test_normalize_fingerprint_only_raises_input_error(text: str) -> None:
    # Any other exception type escapes suppress() and fails the test.
    with contextlib.suppress(InputError):
        normalize_fingerprint(text)


def test_split_host_port() -> None:
    assert split_host_port("a.example") == ("a.example", 443)
    assert split_host_port("127.0.0.1:8443") == ("127.0.0.1", 8443)
    assert split_host_port("[::1]:8443") == ("::1", 8443)


def test_mismatch_error_carries_both_fingerprints() -> None:
    pinned, presented = "ab" * 32, "cd" * 32
    check = TrustCheck(Profile("lab", "192.0.2.10", fingerprint=pinned), normalize_fingerprint(presented),
                       TrustVerdict.MISMATCH)
    err = mismatch_error(check)
    assert isinstance(err, CertificateMismatch)
    assert (err.pinned, err.presented) == (normalize_fingerprint(pinned), normalize_fingerprint(presented))


def test_presented_fingerprint_is_read_from_urllib3s_refusal() -> None:
    message = f'Fingerprints did not match. Expected "{"ab" * 32}", got "{"cd" * 32}"'
    assert presented_in(message) == normalize_fingerprint("cd" * 32)
    assert presented_in("some other TLS failure") is None


def test_lock_is_dimmed_without_an_admin_session_like_backup_passphrase() -> None:
    without = {a.id: a for a in actions_for(DeviceState.OPERATIONAL, admin_session=False)}
    for action_id in ("lock", "backup-passphrase"):
        assert not without[action_id].enabled
        assert without[action_id].reason == "needs an admin session"
    with_session = {a.id: a for a in actions_for(DeviceState.OPERATIONAL, admin_session=True)}
    assert with_session["lock"].enabled and with_session["backup-passphrase"].enabled
    locked = {a.id: a for a in actions_for(DeviceState.LOCKED, admin_session=False)}
    assert locked["lock"].reason == "only on an Operational device"


def test_app_directories_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    old = os.umask(0o022)  # the usual umask, which alone would give 0755 directories
    try:
        (tmp_path / "xdg-data").mkdir(mode=0o755)  # an existing parent is never changed
        ProfileStore().save(Profile("lab", "192.0.2.10"))
        assert _mode(default_config_dir()) == 0o700
        assert _mode(default_data_dir()) == 0o700
        # A data directory made 0755 by an earlier version is narrowed; existing parents are left
        # alone (missing ones are created 0700, as the XDG base directory spec asks).
        os.chmod(default_data_dir(), 0o755)
        assert _mode(default_data_dir()) == 0o700
        assert _mode(tmp_path / "xdg-data") == 0o755
        # A directory the person chose is created private, but an existing one keeps its mode.
        chosen = tmp_path / "chosen"
        ProfileStore(chosen / "sub").save(Profile("lab", "192.0.2.10"))
        assert _mode(chosen / "sub") == 0o700
        os.chmod(chosen / "sub", 0o750)
        ProfileStore(chosen / "sub").save(Profile("lab2", "192.0.2.11"))
        assert _mode(chosen / "sub") == 0o750
    finally:
        os.umask(old)


def test_directories_we_create_for_files_are_0700(tmp_path: Path) -> None:
    # Report, envelope and journal names carry custodian names and set ids: not for other users.
    from hsmconsole.journal.chain import Journal, JournalEvent, Outcome

    write_private(tmp_path / "data" / "ceremonies" / "report.md", b"x")
    append_private(tmp_path / "usb" / "envelopes" / "a.line", b"x\n")
    Journal(tmp_path / "journal" / "journal.jsonl").append(JournalEvent("alice", "unlock", Outcome.OK))
    for sub in ("data", "data/ceremonies", "usb", "usb/envelopes", "journal"):
        assert stat.S_IMODE((tmp_path / sub).stat().st_mode) == 0o700, sub


def test_the_ceremony_is_dimmed_for_an_unpinned_profile() -> None:
    pinned = {a.id: a for a in actions_for(DeviceState.UNPROVISIONED, admin_session=False)}
    insecure = {
        a.id: a for a in actions_for(DeviceState.UNPROVISIONED, admin_session=False, pinned=False)
    }
    assert pinned["provision"].enabled
    assert not insecure["provision"].enabled and "pinned" in insecure["provision"].reason
