"""The emulated device model: store layout, state machine, users, namespaces, keys, config, update."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hsmconsole.emulator import devcrypto
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm import DeviceState, Hsm, Role
from hsmconsole.emulator.records import dumps, load_user_record
from hsmconsole.emulator.sysupdate import build_update, load_update_key

UNLOCK = "unlockunlock"


def _record(**extra: Any) -> dict[str, Any]:
    return {
        "mechanisms": ["AES_Encryption_CBC"],
        "priv": {"raw": "AAECAwQFBgcICQoLDA0ODw=="},
        "cert": None,
        "operations": 0,
        "restrictions": {},
        **extra,
    }


@pytest.fixture(scope="module")
def hsm() -> Iterator[Hsm]:
    """One provisioned device shared by the tests that leave it Operational (scrypt is ≈0.7 s)."""
    device = Hsm(device_id="TESTDEV001")
    device.provision(UNLOCK, "adminadmin", datetime.now(UTC))
    yield device


def _api_error(fn: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args)
    return info.value


def test_provisioned_store_has_the_device_layout() -> None:
    device = Hsm(device_id="0000000000")
    assert device.state is DeviceState.UNPROVISIONED
    device.provision(UNLOCK, "adminadmin", datetime(2024, 1, 1, tzinfo=UTC))
    # Read at once: the scrypt this test runs below takes seconds on a loaded machine.
    clock = device.now()
    kv = device._kv
    assert kv.paths() == [
        "/.initialized",
        "/authentication/.version",
        "/authentication/admin",
        "/config/version",
        "/key/.version",
        "/local/0000000000/config/certificate",
        "/local/0000000000/config/ip-config",
        "/local/0000000000/config/private-key",
        "/local/0000000000/config/time-offset",
        "/local/0000000000/config/unlock-salt",
        "/local/0000000000/domain-key/attended",
        "/namespace/.version",
    ]
    assert kv.get("/config/version") == b"1"
    dk = device._dk
    assert dk is not None
    # The sealing the reference lists (§7, §8.1), checked independently of the model's helpers.
    auth = devcrypto.store_key(dk, "auth_store")
    admin = load_user_record(
        devcrypto.decrypt(auth, b"/authentication/admin", kv.get("/authentication/admin") or b"")
    )
    assert admin["name"] == "admin" and admin["role"] == "Administrator" and admin["tags"] == []
    assert admin["digest"] == devcrypto.passphrase_digest(admin["salt"], "adminadmin")
    cdk = devcrypto.config_device_key(device._hw.device_key)
    salt_path = "/local/0000000000/config/unlock-salt"
    salt = devcrypto.decrypt(cdk, salt_path.encode(), kv.get(salt_path) or b"")
    sealed = devcrypto.decrypt(
        device._hw.device_key,
        b"local/0000000000/domain-keyattended",
        kv.get("/local/0000000000/domain-key/attended") or b"",
    )
    assert devcrypto.decrypt(devcrypto.scrypt(UNLOCK, salt), b"passphrase", sealed) == dk
    ip = devcrypto.decrypt(
        cdk, b"/local/0000000000/config/ip-config", kv.get("/local/0000000000/config/ip-config") or b""
    )
    assert ip == b'{"ipv4":{"cidr":"192.168.1.1/24","gateway":null}}'
    assert abs(clock - datetime(2024, 1, 1, tzinfo=UTC)) < timedelta(seconds=5)


def test_state_machine() -> None:
    device = Hsm()
    tls_first = device.tls_private_key_pem()
    assert _api_error(device.unlock, UNLOCK).status == 412
    device.provision(UNLOCK, "adminadmin", datetime.now(UTC))
    assert _api_error(device.provision, UNLOCK, "adminadmin", datetime.now(UTC)).status == 412
    device.lock()
    assert device.state is DeviceState.LOCKED
    assert device.authenticate("admin", "adminadmin") is None
    err = _api_error(device.unlock, "wrong passphrase")
    assert (err.status, err.message) == (403, "not authenticated")
    device.unlock(UNLOCK)
    device.reboot()
    assert device.state is DeviceState.LOCKED
    device.unlock(UNLOCK)
    device.set_unattended_boot(True)
    assert device.get_unattended_boot()
    device.reboot()
    assert device.state.value == "Operational"  # mypy keeps the narrowing from above
    device.shutdown()
    assert device.powered_off and device.state is DeviceState.LOCKED
    assert _api_error(device.list_users, None).status == 412
    device.boot()
    assert device.state.value == "Operational" and not device.powered_off
    device.factory_reset()
    assert device.state is DeviceState.UNPROVISIONED
    assert device._kv.paths() == []
    assert device.tls_private_key_pem() != tls_first


def test_users_and_tags(hsm: Hsm) -> None:
    hsm.add_user("operator", "Öperator", Role.OPERATOR, "operatoroperator")
    err = _api_error(hsm.add_user, "operator", "x", Role.OPERATOR, "operatoroperator")
    assert (err.status, err.message) == (409, "user already exists")
    user = hsm.authenticate("operator", "operatoroperator")
    assert user is not None and user.real_name == "Öperator" and user.role is Role.OPERATOR
    assert hsm.authenticate("operator", "wrongwrongwrong") is None
    assert hsm.authenticate("nobody", "operatoroperator") is None
    assert hsm.add_user_tag("operator", "berlin") is True
    assert hsm.add_user_tag("operator", "berlin") is False
    assert hsm.add_user_tag("operator", "amsterdam") is True
    assert hsm.get_user("operator").tags == ("amsterdam", "berlin")  # type: ignore[union-attr]
    hsm.delete_user_tag("operator", "berlin")
    assert _api_error(hsm.delete_user_tag, "operator", "berlin").status == 404
    err = _api_error(hsm.add_user_tag, "admin", "x")
    assert (err.status, err.message) == (400, "tag operations only exist on operator users")
    assert _api_error(hsm.add_user_tag, "ghost", "x").status == 404
    hsm.set_user_passphrase("operator", "newnewnewnew")
    assert hsm.authenticate("operator", "newnewnewnew") is not None
    assert hsm.authenticate("operator", "operatoroperator") is None
    assert _api_error(hsm.delete_user, "ghost").status == 404
    hsm.delete_user("operator")
    assert hsm.get_user("operator") is None


def test_namespaces_are_data(hsm: Hsm) -> None:
    hsm.add_user("nsa~admin", "ns admin", Role.ADMINISTRATOR, "adminadmin")
    hsm.add_user("nsb~op", "other", Role.OPERATOR, "operatoroperator")
    assert not hsm.namespace_exists("nsa") and hsm.namespace_exists("")
    hsm.add_namespace("nsa")
    err = _api_error(hsm.add_namespace, "nsa")
    assert (err.status, err.message) == (400, "Namespace nsa already exists")
    assert hsm.namespace_exists("nsa")
    hsm.put_key("nsa", "k1", _record(), create=True)
    hsm.put_key("", "k1", _record(), create=True)
    assert hsm.list_keys("nsa") == ["k1"]
    assert "k1" in hsm.list_keys("")
    assert hsm._kv.get("/key/.nsa/k1") is not None
    assert hsm.list_users("nsa") == ["nsa~admin"]
    assert set(hsm.list_users(None)) >= {"admin", "nsa~admin", "nsb~op"}
    assert "nsa~admin" not in hsm.list_users("")
    hsm.delete_namespace("nsa")
    assert hsm.list_keys("nsa") == [] and hsm._kv.paths("/key/.nsa/") == []
    assert "k1" in hsm.list_keys("")
    assert hsm.get_user("nsa~admin") is not None  # users remain
    assert not hsm.namespace_exists("nsa")
    assert _api_error(hsm.delete_namespace, "nsa").status == 404
    hsm.delete_key("", "k1")


def test_keys_and_operation_counters() -> None:
    device = Hsm()
    device.provision(UNLOCK, "adminadmin", datetime.now(UTC))
    device.put_key("", "aes", _record(label="läbel", restrictions={"tags": ["t1"]}), create=True)
    with pytest.raises(ApiError) as info:
        device.put_key("", "aes", _record(), create=True)
    err = info.value
    assert (err.status, err.message) == (400, "Key with id aes already exists")
    record = device.get_key("", "aes")
    assert record == _record(label="läbel", restrictions={"tags": ["t1"]})
    for _ in range(3):
        device.count_operation("", "aes")
    assert device.get_key("", "aes")["operations"] == 3  # type: ignore[index]
    stored_before = device._kv.get("/key/aes")
    device.reboot()  # flushes counters into the record, then Locked
    assert device._kv.get("/key/aes") != stored_before
    device.unlock(UNLOCK)
    assert device.get_key("", "aes")["operations"] == 3  # type: ignore[index]
    device.put_key("", "aes", _record(operations=7), create=False)
    assert device.get_key("", "aes")["operations"] == 7  # type: ignore[index]
    assert device.get_key("", "ghost") is None
    assert _api_error(device.delete_key, "", "ghost").status == 404
    # A replace or an update never creates a key (a concurrent delete must win).
    with pytest.raises(ApiError) as info:
        device.put_key("", "ghost", _record(), create=False)
    assert info.value.status == 404
    assert _api_error(device.update_key, "", "ghost", lambda r: r).status == 404
    assert device.get_key("", "ghost") is None
    assert device.update_key("", "aes", lambda r: None) is False
    assert device.update_key("", "aes", lambda r: {**r, "label": "new"}) is True
    assert device.get_key("", "aes")["label"] == "new"  # type: ignore[index]
    assert _api_error(device.count_operation, "", "ghost").status == 404


def test_passphrase_changes() -> None:
    device = Hsm()
    device.provision(UNLOCK, "adminadmin", datetime.now(UTC))
    assert not device.has_backup_passphrase()
    err = _api_error(device.backup)
    assert (err.status, err.message) == (412, "Please configure backup key before doing a backup.")
    err = _api_error(device.set_backup_passphrase, "backupbackup", "not empty")
    assert (err.status, err.message) == (403, "backup passphrase is incorrect.")
    device.set_backup_passphrase("backupbackup", "")
    assert device.has_backup_passphrase()
    assert _api_error(device.set_backup_passphrase, "other-passphrase", "wrongwrong").status == 403
    err = _api_error(device.set_unlock_passphrase, "newunlocknew", "wrongwrong")
    assert (err.status, err.message) == (403, "unlock passphrase is incorrect.")
    device.set_unlock_passphrase("newunlocknew", UNLOCK)
    device.lock()
    device.unlock("newunlocknew")


def test_network_logging_time_and_info(hsm: Hsm) -> None:
    assert hsm.get_network() == {"ipAddress": "192.168.1.1", "netmask": "255.255.255.0", "gateway": "0.0.0.0"}
    assert hsm.get_logging() == {"ipAddress": "0.0.0.0", "port": 514, "logLevel": "info"}
    hsm.set_network(
        {
            "ipAddress": "10.0.0.5",
            "netmask": "255.255.0.0",
            "gateway": "10.0.0.1",
            "ipv6": {"cidr": "fd00::5/64", "gateway": None},
        }
    )
    assert hsm.get_network() == {
        "ipAddress": "10.0.0.5",
        "netmask": "255.255.0.0",
        "gateway": "10.0.0.1",
        "ipv6": {"cidr": "fd00::5/64", "gateway": None},
    }
    assert _api_error(hsm.set_network, {"ipAddress": "10.0.0.5", "netmask": "255.0.255.0"}).status == 400
    assert _api_error(hsm.set_network, {"ipAddress": "10.0.0.256", "netmask": "255.0.0.0"}).status == 400
    hsm.set_network({"ipAddress": "192.168.1.1", "netmask": "255.255.255.0", "gateway": "0.0.0.0"})
    hsm.set_logging({"ipAddress": "192.0.2.7", "port": 6514, "logLevel": "debug"})
    assert hsm.get_logging() == {"ipAddress": "192.0.2.7", "port": 6514, "logLevel": "debug"}
    assert (
        _api_error(hsm.set_logging, {"ipAddress": "192.0.2.7", "port": 70000, "logLevel": "debug"}).status
        == 400
    )
    assert (
        _api_error(hsm.set_logging, {"ipAddress": "192.0.2.7", "port": 1, "logLevel": "loud"}).status == 400
    )
    target = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    hsm.set_time(target)
    assert abs(hsm.now() - target) < timedelta(seconds=3)
    hsm.set_time(datetime.now(UTC))
    info = hsm.system_info()
    assert info["softwareVersion"] == "5.0" and info["deviceId"] == "TESTDEV001"
    assert info["hardwareVersion"] == info["firmwareVersion"] == "N/A"
    assert info["akPub"] == {} and info["pcr"] == {}


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(3, "big") + data


def _image(version: bytes = b"6.0", blocks: int = 1, body: bytes = bytes(512)) -> bytes:
    return (
        b"_NETHSM_UPDATE_\x00"
        + _field(b"sig")
        + _field(b"notes")
        + _field(version)
        + blocks.to_bytes(4, "big")
        + body
    )


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (b"", "Unexpected end of data"),
        (b"_NETHSM_UPDATE_\x01" + bytes(20), "Invalid update file"),
        (_image(version=b"6"), "Failed to parse version: no separator (.). A valid version would be '4.2'."),
        (_image(version=b"6.x"), "Failed to parse version: Not a number. A valid version would be '4.2'."),
        # Longer than the state directory's version field holds: refused, never committed.
        (_image(version=b"5.1234567890"), "Failed to parse version: Not a number. A valid version would be '4.2'."),  # noqa: E501
        (_image(body=bytes(100)), "unexpected end of data"),
        (_image(), "Signature check of update image failed."),
    ],
)
def test_update_images_are_refused_like_unsigned_ones(hsm: Hsm, image: bytes, message: str) -> None:
    err = _api_error(hsm.start_update, image)
    assert (err.status, err.message) == (400, message)


def test_commit_and_cancel_without_image(hsm: Hsm) -> None:
    for fn in (hsm.commit_update, hsm.cancel_update):
        err = _api_error(fn)
        assert (err.status, err.message) == (
            412,
            "No update available. Please upload a system image to /system/update.",
        )


@pytest.fixture(scope="module")
def vendor_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _trusting(key: rsa.RSAPrivateKey, state_dir: Path | None = None) -> Hsm:
    device = Hsm(state_dir, update_key=key.public_key())
    device.provision(UNLOCK, "adminadmin", datetime.now(UTC))
    return device


def test_signed_update_cancel_and_commit(vendor_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    device = _trusting(vendor_key, tmp_path)
    image = build_update(vendor_key, "notes for 6.1", "6.1", bytes(1024))
    assert device.start_update(image) == "notes for 6.1"
    err = _api_error(device.start_update, image)
    assert (err.status, err.message) == (409, "Update already in progress.")
    device.cancel_update()
    assert device.start_update(image) == "notes for 6.1"
    device.commit_update()
    # A reboot into the new firmware: Locked, then the new version.
    assert device.state is DeviceState.LOCKED
    device.unlock(UNLOCK)
    assert device.system_info()["softwareVersion"] == "6.1"
    assert Hsm(tmp_path).system_info()["softwareVersion"] == "6.1"  # kept with the hardware identity


def test_update_refusals_in_the_devices_order(vendor_key: rsa.RSAPrivateKey) -> None:
    device = _trusting(vendor_key)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = build_update(vendor_key, "n", "6.0", bytes(512))
    cases = [
        (build_update(other, "n", "6.0", bytes(512)), 400, "Signature check of update image failed."),
        (good[:-1] + b"\x01", 400, "Signature check of update image failed."),  # one image byte changed
        (good + bytes(512), 400, "unexpected end of data"),
        # A downgrade signed by the vendor is refused after the signature check, with a 409.
        (build_update(vendor_key, "n", "4.9", bytes(512)), 409, "Software version downgrade not allowed."),
        (build_update(other, "n", "4.9", bytes(512)), 400, "Signature check of update image failed."),
    ]
    for image, status, message in cases:
        err = _api_error(device.start_update, image)
        assert (err.status, err.message) == (status, message)
    # Only the major number counts: 5.0 → 5.0 is allowed (as is any minor of 5).
    assert device.start_update(build_update(vendor_key, "same", "5.0", bytes(512))) == "same"
    with pytest.raises(ValueError):
        build_update(vendor_key, "n", "6.0", bytes(100))


def test_update_key_must_be_an_rsa_public_key(vendor_key: rsa.RSAPrivateKey) -> None:
    pem = vendor_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert load_update_key(pem).public_numbers() == vendor_key.public_key().public_numbers()
    ec_pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for bad in (ec_pem, b"not pem"):
        with pytest.raises(ValueError):
            load_update_key(bad)


def test_key_certificates_are_stored_as_raw_bytes_like_the_device() -> None:
    device = Hsm()
    device.provision(UNLOCK, "adminadmin", datetime.now(UTC))
    der = bytes(range(256))
    device.put_key("", "k", _record(), create=True)
    device.update_key("", "k", lambda r: {**r, "cert": ["application/octet-stream", der]})
    assert device.get_key("", "k")["cert"] == ["application/octet-stream", der]  # type: ignore[index]
    plain = device._sealed.get("/key/k", "key_store")
    assert plain is not None and dumps(der) in plain  # Yojson's string of the raw bytes
    # Records that break the schema read as a corrupted store (the device's 500), never half-served.
    bad_records: list[dict[str, Any]] = [
        {"cert": ["x"]}, {"operations": "lots"}, {"priv": {"PEM": 1}}, {"extra": 1},
        {"restrictions": {"tags": ["_bad"]}}, {"mechanisms": ["Nope"]}, {"label": "x" * 33},
    ]  # fmt: skip
    for bad in bad_records:
        device._sealed.put("/key/k", "key_store", dumps({**_record(), **bad}))
        err = _api_error(device.get_key, "", "k")
        assert (err.status, err.message) == (500, "Corrupted database: /key/k"), bad
