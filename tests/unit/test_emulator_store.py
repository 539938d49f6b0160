"""The emulator's KV store and hardware identity: ordering, atomic 0600 persistence, reopen."""

from __future__ import annotations

import base64
import json
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm import DeviceState, Hsm, Role
from hsmconsole.emulator.store import (
    HARDWARE_FILE,
    LEGACY_STORE_FILE,
    STORE_FILE,
    KVStore,
    StoreFileError,
    StoreWriteError,
    load_hardware,
    path_sort_key,
)


def test_paths_follow_directory_walk_order() -> None:
    kv = KVStore()
    for p in ["/a-c", "/a/b", "/key/.ns/k", "/key/.version", "/key/a", "/.initialized"]:
        kv.set(p, b"x")
    # "/a/b" precedes "/a-c" in a recursive walk although "-" < "/" as characters.
    assert kv.paths() == ["/.initialized", "/a/b", "/a-c", "/key/.ns/k", "/key/.version", "/key/a"]
    assert kv.paths("/key/") == ["/key/.ns/k", "/key/.version", "/key/a"]
    assert path_sort_key("/a/b") < path_sort_key("/a-c")


def test_set_get_delete_and_prefix_delete() -> None:
    kv = KVStore()
    kv.set("/key/.ns/a", b"1")
    kv.set("/key/.ns/b", b"2")
    kv.set("/key/.nsx/c", b"3")
    kv.delete_prefix("/key/.ns/")
    assert kv.paths() == ["/key/.nsx/c"]
    kv.delete("/key/.nsx/c")
    kv.delete("/missing")
    assert kv.get("/key/.nsx/c") is None
    with pytest.raises(ValueError):
        kv.set("relative", b"")
    # The "kv write" metric: three sets, two removed by prefix, one deleted; a miss writes nothing.
    assert kv.writes == 6


def test_persists_atomically_with_mode_0600(tmp_path: Path) -> None:
    kv = KVStore(tmp_path)
    kv.set("/config/version", b"1")
    kv.set("/bin", bytes(range(256)))
    file = tmp_path / STORE_FILE
    for f in (file, tmp_path / f"{STORE_FILE}-wal", tmp_path / f"{STORE_FILE}-shm"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    again = KVStore(tmp_path)
    assert again.snapshot() == {"/config/version": b"1", "/bin": bytes(range(256))}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_batch_writes_once_at_the_end(tmp_path: Path) -> None:
    kv = KVStore(tmp_path)
    kv.set("/a", b"1")
    with kv.batch():
        kv.set("/b", b"2")
        kv.delete("/a")
        assert KVStore(tmp_path).snapshot() == {"/a": b"1"}  # nothing on disk before the end
        assert kv.snapshot() == {"/b": b"2"}  # but the batch sees its own changes
    assert KVStore(tmp_path).snapshot() == {"/b": b"2"}


def test_a_store_snapshot_of_earlier_builds_is_migrated(tmp_path: Path) -> None:
    legacy = tmp_path / LEGACY_STORE_FILE
    entries = {"/config/version": base64.b64encode(b"1").decode(), "/x": ""}
    legacy.write_text(json.dumps({"format": "hsmconsole-emulator-kv", "version": 1, "entries": entries}))
    assert KVStore(tmp_path).snapshot() == {"/config/version": b"1", "/x": b""}
    assert not legacy.exists()
    assert KVStore(tmp_path).snapshot() == {"/config/version": b"1", "/x": b""}


def test_a_failed_write_changes_neither_disk_nor_memory(tmp_path: Path) -> None:
    kv = KVStore(tmp_path)
    kv.set("/a", b"1")
    assert kv._db is not None
    kv._db.close()  # every later statement fails, as on a disk that refuses writes
    with pytest.raises(StoreWriteError):
        kv.set("/a", b"2")
    with pytest.raises(StoreWriteError), kv.batch():
        kv.set("/b", b"2")
        kv.delete("/a")
    assert kv.snapshot() == {"/a": b"1"} and kv.writes == 1
    assert KVStore(tmp_path).snapshot() == {"/a": b"1"}


def test_replace_all_rolls_back(tmp_path: Path) -> None:
    kv = KVStore(tmp_path)
    kv.set("/a", b"1")
    saved = kv.snapshot()
    kv.set("/b", b"2")
    kv.replace_all(saved)
    assert KVStore(tmp_path).snapshot() == {"/a": b"1"}


@pytest.mark.parametrize(
    "content", [b"not json", b"[]", b'{"format":"other"}', b'{"format":"hsmconsole-emulator-kv"}']
)
def test_foreign_or_damaged_store_file_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / STORE_FILE).write_bytes(content)
    with pytest.raises(StoreFileError) as info:
        KVStore(tmp_path)
    assert str(tmp_path) in info.value.title


def test_hardware_is_created_once_and_kept(tmp_path: Path) -> None:
    hw = load_hardware(tmp_path, "ABC123")
    assert hw.device_id == "ABC123" and len(hw.device_key) == 32
    assert "device_key" not in repr(hw) or "redacted" in repr(hw)
    assert hw.device_key.hex() not in repr(hw)
    file = tmp_path / HARDWARE_FILE
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    # The stored id wins over another default: hardware keeps its id.
    assert load_hardware(tmp_path, "0000000000") == hw
    assert load_hardware(None, "X1") != load_hardware(None, "X1")  # in memory: a new key each time


def test_damaged_hardware_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / HARDWARE_FILE).write_text(json.dumps({"format": "hsmconsole-emulator-hardware"}))
    with pytest.raises(StoreFileError):
        load_hardware(tmp_path, "0000000000")
    with pytest.raises(ValueError):
        load_hardware(None, "bad/id")


def test_device_survives_restart(tmp_path: Path) -> None:
    hsm = Hsm(tmp_path, device_id="DEV42")
    assert hsm.state is DeviceState.UNPROVISIONED
    tls = hsm.tls_private_key_pem()
    hsm.provision("unlockunlock", "adminadmin", datetime.now(UTC))
    assert hsm.tls_private_key_pem() == tls  # provisioning stores the first-boot TLS key
    hsm.add_namespace("ns1")
    hsm.put_key(
        "ns1",
        "k1",
        {"mechanisms": [], "priv": {"raw": "AAAA"}, "cert": None, "operations": 0, "restrictions": {}},
        create=True,
    )
    hsm.set_unattended_boot(True)

    again = Hsm(tmp_path, device_id="OTHER")
    assert again.device_id == "DEV42"
    assert again.state is DeviceState.OPERATIONAL  # unattended boot with the same device key
    assert again.list_keys("ns1") == ["k1"]
    assert again.tls_private_key_pem() == tls
    assert again.authenticate("admin", "adminadmin") is not None
    assert all(
        p.startswith(("/local/DEV42/", "/config/", "/key/", "/authentication/", "/namespace/", "/."))
        for p in KVStore(tmp_path).paths()
    )

    again.set_unattended_boot(False)
    third = Hsm(tmp_path)
    assert third.state is DeviceState.LOCKED
    third.unlock("unlockunlock")
    assert third.list_namespaces() == ["ns1"]


def _device(tmp_path: Path) -> Hsm:
    hsm = Hsm(tmp_path, device_id="DEV1")
    hsm.provision("unlockunlock", "adminadmin", datetime.now(UTC))
    hsm.add_user("op", "Operator", Role.OPERATOR, "operatorpass")
    return hsm


def test_a_change_the_disk_refuses_is_rolled_back_and_answered_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hsm = _device(tmp_path)
    record: dict[str, Any] = {
        "mechanisms": [], "priv": {"raw": "AAAA"}, "cert": None, "operations": 0, "restrictions": {},
    }  # fmt: skip

    def refuse(changes: object) -> None:
        raise StoreWriteError("disk full")

    monkeypatch.setattr(hsm._kv, "flush", refuse)
    for change in (
        lambda: hsm.put_key("", "k1", record, create=True),
        lambda: hsm.add_user("op2", "Second", Role.OPERATOR, "operatorpass"),
        lambda: hsm.add_user_tag("op", "berlin"),
        lambda: hsm.set_unlock_passphrase("another-unlock", "unlockunlock"),
        lambda: hsm.set_unattended_boot(True),
        lambda: hsm.add_namespace("ns1"),
    ):
        with pytest.raises(ApiError) as info:
            change()
        assert (info.value.status, info.value.message) == (500, "Could not write to disk.")
    assert hsm.list_keys("") == [] and "op2" not in hsm.list_users(None)
    user = hsm.get_user("op")
    assert user is not None and not user.tags
    assert hsm.list_namespaces() == [] and hsm.get_unattended_boot() is False
    monkeypatch.undo()
    hsm.lock()
    hsm.unlock("unlockunlock")  # the passphrase whose change failed was never taken
    hsm.close()
    again = Hsm(tmp_path)
    again.unlock("unlockunlock")
    assert again.list_keys("") == [] and "op2" not in again.list_users(None)


def test_reads_and_signing_do_not_wait_for_another_request_s_disk_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hsm = _device(tmp_path)
    record: dict[str, Any] = {
        "mechanisms": [], "priv": {"raw": "AAAA"}, "cert": None, "operations": 0, "restrictions": {},
    }  # fmt: skip
    hsm.put_key("", "signer", dict(record), create=True)
    writing, release = threading.Event(), threading.Event()
    real = hsm._kv.flush

    def slow_flush(changes: dict[str, bytes | None]) -> None:
        writing.set()
        release.wait(20)  # a disk that takes its time
        real(changes)

    monkeypatch.setattr(hsm._kv, "flush", slow_flush)
    writer = threading.Thread(target=hsm.put_key, args=("", "new", dict(record)), kwargs={"create": True})
    writer.start()
    assert writing.wait(10)
    done: list[bool] = []

    def sign_path() -> None:  # what a signature costs the model: authenticate, read the key, count
        assert hsm.authenticate("op", "operatorpass") is not None
        assert hsm.get_key("", "signer") is not None
        hsm.count_operation("", "signer")
        done.append("new" not in hsm.list_keys(""))  # not visible before it is durable

    reader = threading.Thread(target=sign_path)
    reader.start()
    reader.join(10)
    finished = not reader.is_alive()
    release.set()
    writer.join(10)
    reader.join(10)
    assert finished, "a read waited for another request's disk write"
    assert done == [True]
    assert "new" in hsm.list_keys("")
