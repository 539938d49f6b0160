"""Backups in the device's format: real v0/v1 vectors, the SDK reading ours, full/partial restore, garbage."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st
from nethsm.backup import Backup, EncryptedBackup

from hsmconsole.backup import format as backupfmt
from hsmconsole.backup.format import path_sort_key
from hsmconsole.emulator import devcrypto
from hsmconsole.emulator.configstore import ConfigStore, DomainKeyStore, migrate_v0
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm import DeviceState, Hsm, Role
from hsmconsole.emulator.records import dumps, load_key_record, load_user_record
from hsmconsole.emulator.store import KVStore
from tests.paths import VECTORS

BACKUP_PP, UNLOCK_PP = "backupbackup", "unlockunlock"
WRONG_PASSPHRASE = "Could not decrypt backup-version, authentication failed. Is the passphrase correct?"



def _vector(name: str) -> bytes:
    return (VECTORS / f"{name}.bin").read_bytes()


_cached_scrypt = functools.lru_cache(maxsize=64)(devcrypto.scrypt)


@contextlib.contextmanager
def _fast_scrypt() -> Iterator[None]:
    """Real scrypt, memoised: fuzzing the same backup need not pay 0.7 s per example."""
    with mock.patch.object(devcrypto, "scrypt", _cached_scrypt):
        yield


def _state(device: Hsm) -> DeviceState:
    # A call, so mypy does not carry a narrowed property value across state changes.
    return device.state


def _api_error(fn: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args)
    return info.value


@pytest.fixture(scope="module")
def decrypted() -> dict[str, Backup]:
    """The vectors decrypted by the official SDK (one scrypt each)."""
    return {v: EncryptedBackup.parse(_vector(v)).decrypt(BACKUP_PP) for v in ("v0", "v1")}


@pytest.fixture(scope="module", params=["v0", "v1"])
def restored(request: pytest.FixtureRequest) -> tuple[str, Hsm]:
    """A fresh device (another id than the backup's) restored from a vector, then unlocked."""
    device = Hsm(device_id="EMU0000001")
    device.restore(_vector(request.param), BACKUP_PP, None)
    assert _state(device) is DeviceState.LOCKED
    device.unlock(UNLOCK_PP)
    return request.param, device


# --- the real vectors -------------------------------------------------------------------------


def test_vector_restores_keys_and_users(restored: tuple[str, Hsm]) -> None:
    _, device = restored
    operator = device.authenticate("operator", "operatoroperator")
    assert operator is not None and operator.role is Role.OPERATOR
    assert device.authenticate("admin", "adminadmin") is not None
    assert device.list_users(None) == ["admin", "backup", "operator"]
    key = device.get_key("", "mykey")
    assert key is not None and key["mechanisms"] == ["EdDSA_Signature"]
    priv = serialization.load_pem_private_key(key["priv"]["PEM"].encode(), None)
    assert isinstance(priv, ed25519.Ed25519PrivateKey)
    signature = priv.sign(b"hello device")
    priv.public_key().verify(signature, b"hello device")  # raises if it does not verify


def test_vector_lands_in_this_devices_v1_layout(
    restored: tuple[str, Hsm], decrypted: dict[str, Backup]
) -> None:
    version, device = restored
    paths = device._kv.paths()
    assert device._kv.get("/config/version") == b"1"
    assert not [p for p in paths if p.startswith("/local/") and not p.startswith("/local/EMU0000001/")]
    assert not [p for p in paths if p.startswith("/domain-key/")]
    assert [p for p in paths if p.startswith("/config/")] == [
        "/config/backup-key",
        "/config/backup-salt",
        "/config/version",
    ]
    assert device.now().year >= 2024  # time offset "-1" carried over
    # Backup salt/key sealed with the domain key now (v0 kept them cleartext until unlock).
    assert len(device._kv.get("/config/backup-key") or b"") == 60
    assert device.has_backup_passphrase()
    # The TLS certificate is the backup device's, re-encrypted for this one.
    backup = decrypted[version]
    if version == "v1":
        cert_path = "/local/0000000000/config/certificate"
        assert backup.backup_config_store_key is not None
        cert = devcrypto.decrypt(backup.backup_config_store_key, cert_path.encode(), backup.data[cert_path])
    else:
        cert = backup.data["/config/certificate"]
    assert device.tls_certificate_chain_der() == [cert[4:]]
    assert device.get_network()["ipAddress"] == "192.168.1.1"


def test_stored_records_match_the_devices_json_byte_for_byte(restored: tuple[str, Hsm]) -> None:
    _, device = restored
    for path in ("/authentication/admin", "/authentication/backup", "/authentication/operator"):
        plain = devcrypto.decrypt(
            device._store_keys["auth_store"], path.encode(), device._kv.get(path) or b""
        )
        assert dumps(load_user_record(plain)) == plain
    plain = devcrypto.decrypt(
        device._store_keys["key_store"], b"/key/mykey", device._kv.get("/key/mykey") or b""
    )
    assert dumps(load_key_record(plain)) == plain


def test_sdk_reads_our_backup(restored: tuple[str, Hsm]) -> None:
    # For v0 this also shows the migrated (v0 → v1 layout) store backs up in a form the SDK reads.
    _, device = restored
    data = device.backup()  # the restored backup passphrase: no new scrypt here
    assert data.startswith(b"_NETHSM_BACKUP_\x01") and data.endswith(b"\x00\x00\x00_NETHSM_BACKUP_END_")
    backup = EncryptedBackup.parse(data).decrypt(BACKUP_PP)
    assert backup.version == 1
    assert backup.backup_device_id == b"EMU0000001"
    assert backup.backup_config_store_key == device._cfg.config_device_key
    assert backup.data == device._kv.snapshot()
    assert list(backup.data) == sorted(backup.data, key=path_sort_key)
    assert devcrypto.decrypt(
        devcrypto.scrypt(UNLOCK_PP, _unlock_salt(device)), b"passphrase", backup.domain_key
    )


def _unlock_salt(device: Hsm) -> bytes:
    salt = device._cfg.get("unlock-salt")
    assert salt is not None
    return salt


# --- round trips and restore semantics ------------------------------------------------------


def _key(label: str) -> dict[str, Any]:
    return {
        "mechanisms": ["AES_Decryption_CBC"],
        "priv": {"raw": "MTIzNDU2Nzg5MDEyMzQ1Ng=="},
        "cert": None,
        "operations": 0,
        "restrictions": {"tags": ["t"]},
        "label": label,
    }


def test_round_trip_through_factory_reset_with_unattended_boot() -> None:
    device = Hsm()
    device.provision(UNLOCK_PP, "adminadmin", datetime.now(UTC))
    device.add_user("nsx~op", "Operator X", Role.OPERATOR, "operatoroperator")
    device.add_user_tag("nsx~op", "t")
    device.add_namespace("nsx")
    device.put_key("nsx", "k1", _key("eins"), create=True)
    device.put_key("", "k1", _key("root"), create=True)
    device.set_logging({"ipAddress": "192.0.2.1", "port": 514, "logLevel": "warning"})
    device.set_unattended_boot(True)
    device.set_backup_passphrase(BACKUP_PP, "")
    tls = device.tls_private_key_pem()
    before = device._kv.snapshot()
    data = device.backup()

    device.factory_reset()
    assert _state(device) is DeviceState.UNPROVISIONED
    device.restore(data, BACKUP_PP, datetime(2031, 1, 1, tzinfo=UTC))
    # Same device key and unattended boot on: the device comes back Operational by itself.
    assert _state(device) is DeviceState.OPERATIONAL
    assert device.list_namespaces() == ["nsx"]
    assert device.get_key("nsx", "k1") == _key("eins")
    assert device.get_key("", "k1") == _key("root")
    assert device.get_user("nsx~op").tags == ("t",)  # type: ignore[union-attr]
    assert device.get_logging()["logLevel"] == "warning"
    assert device.tls_private_key_pem() == tls
    assert device.now().year == 2031
    after = device._kv.snapshot()
    assert set(after) == set(before)
    assert {p for p in after if after[p] == before[p]} >= {p for p in before if not p.endswith("time-offset")}


def test_operational_restore_is_partial() -> None:
    device = Hsm()
    device.provision(UNLOCK_PP, "adminadmin", datetime.now(UTC))
    device.set_backup_passphrase(BACKUP_PP, "")
    device.add_user("operator", "op", Role.OPERATOR, "operatoroperator")
    device.put_key("", "keep", _key("keep"), create=True)
    snapshot = device.backup()

    device.add_user("extra", "extra", Role.METRICS, "metricsmetrics")
    device.add_namespace("extrans")
    device.put_key("", "extra", _key("x"), create=True)
    device.set_network({"ipAddress": "10.1.2.3", "netmask": "255.0.0.0", "gateway": "0.0.0.0"})
    device.set_unattended_boot(True)
    # No passphrase: allowed because the backup's salt is the device's current backup salt.
    device.restore(snapshot, None, None)
    assert _state(device) is DeviceState.OPERATIONAL  # same domain key
    assert device.list_users(None) == ["admin", "operator"]
    assert device.list_keys("") == ["keep"]
    assert device.list_namespaces() == []
    assert device.get_network()["ipAddress"] == "10.1.2.3"  # device config is kept
    assert device.get_unattended_boot()
    device.restore(snapshot, None, None)
    assert _state(device) is DeviceState.OPERATIONAL

    device.set_unlock_passphrase("changedchanged", UNLOCK_PP)
    device.restore(snapshot, None, None)
    # The locked domain key differs now (other unlock passphrase): Locked, unattended boot off.
    assert _state(device) is DeviceState.LOCKED
    device.unlock(UNLOCK_PP)
    assert not device.get_unattended_boot()

    # Another device's backup: its domain key, users and keys replace ours; our network stays.
    device.restore(_vector("v1"), BACKUP_PP, None)
    assert _state(device) is DeviceState.LOCKED
    device.unlock(UNLOCK_PP)
    assert device.list_users(None) == ["admin", "backup", "operator"]
    assert device.list_keys("") == ["mykey"]
    assert device.get_network()["ipAddress"] == "10.1.2.3"
    assert device.authenticate("operator", "operatoroperator") is not None


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Not a NetHSM backup file"),
        (b"_NETHSM_BACKUP", "Not a NetHSM backup file"),
        (b"_NETHSM_UPDATE_\x01" + bytes(40), "Not a NetHSM backup file"),
        (
            b"_NETHSM_BACKUP_\x07" + bytes(40),
            "Version mismatch on restore, provided backup version is 7, server expects one of [ 0 1]",
        ),
        (b"_NETHSM_BACKUP_\x01\x00\x00\x10abc", "Unexpected end of data"),
    ],
)
def test_malformed_headers(data: bytes, message: str) -> None:
    err = _api_error(Hsm().restore, data, BACKUP_PP, None)
    assert (err.status, err.message) == (400, message)


def test_passphrase_refusals() -> None:
    device = Hsm()
    err = _api_error(device.restore, _vector("v1"), None, None)
    assert (err.status, err.message) == (400, "No backupPassphrase provided")
    err = _api_error(device.restore, _vector("v1"), "not the passphrase", None)
    assert (err.status, err.message) == (400, WRONG_PASSPHRASE)
    assert _state(device) is DeviceState.UNPROVISIONED and device._kv.paths() == []


@pytest.mark.parametrize("cut", [19, 22, 400])
def test_truncated_backup_restores_what_was_read(cut: int) -> None:
    with _fast_scrypt():
        device = Hsm()
        err = _api_error(device.restore, _vector("v1")[:-cut], BACKUP_PP, None)
        assert (err.status, err.message) == (400, backupfmt.TRUNCATED_MESSAGE)
        if cut <= 22:  # every record was read: a complete device, only the trailer is missing
            assert _state(device) is DeviceState.LOCKED
            device.unlock(UNLOCK_PP)
            assert device.list_keys("") == ["mykey"]
        else:
            assert 0 < len(device._kv.paths()) < 17


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_a_400(data: bytes) -> None:
    with _fast_scrypt():
        err = _api_error(Hsm().restore, data, BACKUP_PP, None)
    assert err.status == 400


@given(st.data())
def test_damaged_real_backups_are_a_400_or_restore(data: st.DataObject) -> None:
    original = _vector(data.draw(st.sampled_from(["v0", "v1"])))
    damaged = bytearray(original)
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(0, len(original) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.integers(len(backupfmt.HEADER) + 1 + 3 + 16, len(original) - 1))
            damaged[i] ^= 1 << data.draw(st.integers(0, 7))
    device = Hsm()
    with _fast_scrypt():
        try:
            device.restore(bytes(damaged), BACKUP_PP, None)
        except ApiError as exc:
            assert exc.status == 400 and exc.message
    assert _state(device) in (DeviceState.UNPROVISIONED, DeviceState.LOCKED)


# --- the format module alone (no scrypt) ---------------------------------------------------

_KEY = bytes(range(32))
_segment = st.text("abc.-~", min_size=1, max_size=5).filter(lambda s: s not in (".", ".."))
_paths = st.lists(_segment, min_size=1, max_size=3).map(lambda s: "/" + "/".join(s))


@given(st.dictionaries(_paths, st.binary(max_size=40), max_size=8))
def test_writer_and_reader_agree(records: dict[str, bytes]) -> None:
    data = backupfmt.write_backup(
        backup_key=_KEY,
        salt=b"s" * 16,
        locked_domain_key=b"d" * 60,
        device_id="DEV1",
        config_store_key=b"c" * 32,
        records=records.items(),
    )
    contents = backupfmt.read_backup(data, lambda salt: _KEY)
    assert not contents.truncated and contents.device_id == "DEV1" and contents.config_store_key == b"c" * 32
    assert contents.locked_domain_key == b"d" * 60
    assert list(contents.records) == sorted(records.items(), key=lambda r: path_sort_key(r[0]))
    parsed = EncryptedBackup.parse(data)  # the SDK's framing agrees (its decrypt needs scrypt)
    assert len(parsed.encrypted_data) == len(records)


@given(st.binary(max_size=400))
def test_reader_refuses_garbage_after_a_valid_header(tail: bytes) -> None:
    data = b"_NETHSM_BACKUP_\x01" + backupfmt.field(b"s" * 16) + tail
    try:
        backupfmt.read_backup(data, lambda salt: _KEY)
    except backupfmt.BackupError as exc:
        assert exc.message


def test_v0_legacy_network_and_log_encodings_migrate() -> None:
    kv = KVStore()
    device_key = bytes(32)
    cfg = ConfigStore(kv, "DEV9", devcrypto.config_device_key(device_key))
    dks = DomainKeyStore(kv, "DEV9", device_key)
    kv.set("/config/version", b"0")
    kv.set("/config/ip-config", bytes([10, 0, 0, 1, 10, 0, 0, 7, 255, 255, 255, 0]))
    kv.set("/config/log-config", bytes([192, 0, 2, 9]) + (1514).to_bytes(2, "big") + b"debug")
    kv.set("/config/unlock-salt", b"u" * 16)
    kv.set("/domain-key/attended", devcrypto.encrypt(device_key, b"domain-keyattended", b"locked"))
    migrate_v0(cfg, dks)
    assert cfg.get("ip-config") == b'{"ipv4":{"cidr":"10.0.0.7/24","gateway":"10.0.0.1"}}'
    assert cfg.get("log-config") == b'{"ipAddress":"192.0.2.9","port":1514,"logLevel":"debug"}'
    assert cfg.get("unlock-salt") == b"u" * 16
    assert cfg.get("version") == b"1"
    assert dks.get("attended") == b"locked"
    assert kv.paths() == [
        "/config/version",
        "/local/DEV9/config/ip-config",
        "/local/DEV9/config/log-config",
        "/local/DEV9/config/unlock-salt",
        "/local/DEV9/domain-key/attended",
    ]
