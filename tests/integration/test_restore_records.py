"""Restoring backups that decrypt but hold malformed records (re-sealed from the real v1 vector):
refused with a 400 and nothing restored where the records can be read, never a 500 from a bug."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import nethsm
import pytest

from hsmconsole.backup import format as backupfmt
from hsmconsole.device.tls import pin_sdk
from hsmconsole.emulator import devcrypto
from hsmconsole.emulator.server import EmbeddedEmulator
from tests.integration.conftest import RawClient
from tests.integration.helpers import b64, fails
from tests.paths import VECTORS

# The secrets of the real vectors (tests/reference/backup-vectors/README.md).
BACKUP_PASS = "backupbackup"
UNLOCK_PASS = "unlockunlock"
ADMIN = ("admin", "adminadmin")
OPERATOR = ("operator", "operatoroperator")


@dataclass(frozen=True)
class Vector:
    """v1.bin opened down to its inner layer, so records can be changed and sealed again."""

    contents: backupfmt.BackupContents
    backup_key: bytes
    store_keys: dict[str, bytes]

    def plain(self, path: str) -> bytes:
        store = {"/authentication/": "auth_store", "/key/": "key_store", "/namespace/": "namespace_store"}
        name = next(s for prefix, s in store.items() if path.startswith(prefix))
        value = dict(self.contents.records)[path]
        return devcrypto.decrypt(self.store_keys[name], path.encode(), value)

    def seal(self, store: str, path: str, plain: bytes) -> bytes:
        return devcrypto.encrypt(self.store_keys[store], path.encode(), plain)

    def backup(self, changed: dict[str, bytes]) -> bytes:
        """The vector with records replaced or added (values already sealed), as a v1 backup file."""
        records = dict(self.contents.records)
        records.update(changed)
        return backupfmt.write_backup(
            backup_key=self.backup_key,
            salt=self.contents.salt,
            locked_domain_key=self.contents.locked_domain_key,
            device_id=self.contents.device_id or "0000000000",
            config_store_key=self.contents.config_store_key or b"",
            records=records.items(),
        )

    def with_key(self, key_id: str, change: Callable[[dict[str, object]], object]) -> bytes:
        """/key/<key_id> = the vector's mykey record changed by `change` (which may return raw bytes)."""
        record = json.loads(self.plain("/key/mykey"))
        result = change(record)
        plain = result if isinstance(result, bytes) else json.dumps(record).encode()
        return self.seal("key_store", f"/key/{key_id}", plain)


@pytest.fixture(scope="module")
def vector() -> Vector:
    data = (VECTORS / "v1.bin").read_bytes()
    keys: dict[str, bytes] = {}

    def key_for_salt(salt: bytes) -> bytes:
        keys["backup"] = devcrypto.scrypt(BACKUP_PASS, salt)
        return keys["backup"]

    contents = backupfmt.read_backup(data, key_for_salt)
    assert contents.config_store_key is not None
    salt_path = f"/local/{contents.device_id}/config/unlock-salt"
    sealed_salt = dict(contents.records)[salt_path]
    unlock_salt = devcrypto.decrypt(contents.config_store_key, salt_path.encode(), sealed_salt)
    unlock_key = devcrypto.scrypt(UNLOCK_PASS, unlock_salt)
    dk = devcrypto.decrypt(unlock_key, b"passphrase", contents.locked_domain_key)
    stores = {name: devcrypto.store_key(dk, name) for name in ("auth_store", "key_store", "namespace_store")}
    return Vector(contents, keys["backup"], stores)


def sdk(emulator: EmbeddedEmulator, auth: tuple[str, str] | None = None) -> nethsm.NetHSM:
    client = nethsm.NetHSM(emulator.host_port, nethsm.Authentication(*auth) if auth else None)
    pin_sdk(client, emulator.fingerprint)
    return client


@pytest.fixture
def device_of_v1() -> Iterator[EmbeddedEmulator]:
    """An emulator holding the real vector, unlocked: Operational with the vector's domain key."""
    with EmbeddedEmulator() as emulator:
        sdk(emulator).restore((VECTORS / "v1.bin").read_bytes(), BACKUP_PASS, datetime.now(UTC))
        sdk(emulator).unlock(UNLOCK_PASS)
        yield emulator


def malformed(vector: Vector) -> dict[str, dict[str, bytes]]:
    """Backups of one bad record each, keyed by what is wrong, as {path: sealed value}."""
    bad_user = json.dumps({"name": "x", "salt": "s", "digest": "d", "role": "Operator", "tags": []}).encode()

    def cert_list(record: dict[str, object]) -> None:
        record["cert"] = ["x"]

    def lots(record: dict[str, object]) -> None:
        record["operations"] = "lots"

    def bad_pem(record: dict[str, object]) -> None:
        record["priv"] = {"PEM": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}

    def unknown_field(record: dict[str, object]) -> None:
        record["extra"] = 1

    return {
        "cert": {"/key/mykey": vector.with_key("mykey", cert_list)},
        "operations": {"/key/mykey": vector.with_key("mykey", lots)},
        "pem": {"/key/mykey": vector.with_key("mykey", bad_pem)},
        "json": {"/key/mykey": vector.with_key("mykey", lambda r: b"{not json")},
        "field": {"/key/mykey": vector.with_key("mykey", unknown_field)},
        "user": {"/authentication/operator": vector.seal("auth_store", "/authentication/operator", bad_user)},
        "id": {"/key/_bad id": vector.with_key("_bad id", lambda r: None)},
        "namespace id": {"/namespace/-ns": vector.seal("namespace_store", "/namespace/-ns", b'"-ns"')},
        "sealed elsewhere": {"/key/other": devcrypto.encrypt(os.urandom(32), b"/key/other", b"{}")},
    }


EXPECTED_PATH = {"user": "/authentication/operator", "id": "/key/_bad id", "namespace id": "/namespace/-ns",
                 "sealed elsewhere": "/key/other"}  # fmt: skip


@pytest.mark.slow
def test_partial_restore_of_malformed_records_is_refused_and_changes_nothing(
    vector: Vector, device_of_v1: EmbeddedEmulator
) -> None:
    admin = sdk(device_of_v1, ADMIN)
    admin.add_namespace("kept")  # a partial restore would delete it: it must survive each refusal
    message = b64(b"still the same device")
    for what, changed in malformed(vector).items():
        path = EXPECTED_PATH.get(what, "/key/mykey")
        fails(
            lambda changed=changed: admin.restore(vector.backup(changed), BACKUP_PASS, datetime.now(UTC)),
            "Backup not restored", path,
        )  # fmt: skip
        assert admin.get_state() is nethsm.State.OPERATIONAL, what
        assert admin.list_keys() == ["mykey"] and admin.list_namespaces() == ["kept"], what
        assert sdk(device_of_v1, OPERATOR).sign("mykey", message, nethsm.SignMode.EDDSA).decode(), what
    # The untouched vector still restores over it (the refusals left the device as it was).
    admin.restore(vector.backup({}), BACKUP_PASS, datetime.now(UTC))
    assert admin.list_namespaces() == []


def test_full_restore_refuses_invalid_ids_and_restores_nothing(vector: Vector) -> None:
    with EmbeddedEmulator() as emulator:
        for what in ("id", "namespace id"):
            backup = vector.backup(malformed(vector)[what])
            fails(lambda backup=backup: sdk(emulator).restore(backup, BACKUP_PASS, datetime.now(UTC)),
                  "Backup not restored", EXPECTED_PATH[what])  # fmt: skip
            assert sdk(emulator).get_state() is nethsm.State.UNPROVISIONED


def test_full_restore_of_unreadable_contents_answers_corrupted_database_not_a_crash(
    vector: Vector, caplog: pytest.LogCaptureFixture
) -> None:
    """Unprovisioned, the domain key is unknown until unlock: the records are taken as they are (as the
    device does) and a malformed one answers the device's 500 Corrupted database when read."""
    bad = malformed(vector)
    changed = {
        "/key/k-cert": vector.with_key("k-cert", lambda r: r.update(cert=["x"])),
        "/key/k-ops": vector.with_key("k-ops", lambda r: r.update(operations="lots")),
        "/key/k-json": vector.with_key("k-json", lambda r: b"[1, 2"),
        **bad["user"],
    }
    with EmbeddedEmulator() as emulator:
        sdk(emulator).restore(vector.backup(changed), BACKUP_PASS, datetime.now(UTC))
        sdk(emulator).unlock(UNLOCK_PASS)
        raw = RawClient(emulator)
        try:
            assert raw.request("GET", "/keys", auth=ADMIN).json() == [
                {"id": k} for k in ("k-cert", "k-json", "k-ops", "mykey")
            ]
            for key_id in ("k-cert", "k-ops", "k-json"):
                for suffix in ("", "/cert", "/public.pem"):
                    reply = raw.request("GET", f"/keys/{key_id}{suffix}", auth=ADMIN)
                    assert reply.status == 500, (key_id, suffix, reply.body)
                    assert reply.json() == {"message": f"Corrupted database: /key/{key_id}"}
                reply = raw.request("PUT", f"/keys/{key_id}/restrictions/tags/t", auth=ADMIN)
                assert reply.json() == {"message": f"Corrupted database: /key/{key_id}"}
            # A user record that does not read refuses the login, as the device does (401, not 500).
            with caplog.at_level(logging.WARNING, logger="hsmconsole.emulator"):
                assert raw.request("GET", "/keys", auth=OPERATOR).status == 401
            # ...and says why in its log (the user id, never the record), unlike a wrong passphrase.
            assert any("Corrupted database" in r.getMessage() and "'operator'" in r.getMessage()
                       for r in caplog.records)
            assert raw.request("GET", "/keys/mykey", auth=ADMIN).status == 200
        finally:
            raw.close()
