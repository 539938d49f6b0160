"""The issue's "done when": a device's whole life through the official SDK, over pinned TLS, against the
in-process EmbeddedEmulator and against the `hsmconsole emulator` process (restarted over its state)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import coincurve
import nethsm
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from nethsm.backup import EncryptedBackup

from hsmconsole.device.tls import fetch_certificate, fingerprint_of, pin_sdk
from hsmconsole.emulator.server import EmbeddedEmulator
from tests.integration.helpers import b64, fails, public_key
from tests.integration.process import ProcessDevice
from tests.paths import VECTORS

# The real device's backup comes from tests/reference/ (copies checked against their published sums).

UNLOCK = "unlock-passphrase-1"
ADMIN = "admin-passphrase-1"
BACKUP_PASS = "backup-passphrase-1"
PASS = {  # user id -> passphrase; every role, a second root admin, and a namespace's admin and operator
    "admin": ADMIN,
    "admin2": "second-admin-pass",
    "operator": "operator-pass-1",
    "metrics": "metrics-pass-1",
    "backup": "backup-user-pass",
    "acme~admin": "acme-admin-pass",
    "acme~op": "acme-operator-pass",
}

K = nethsm.KeyMechanism
T = nethsm.KeyType
S = nethsm.SignMode
D = nethsm.DecryptMode

# DigestInfo prefix for SHA-256: the device's PKCS1 signing pads what it is given and hashes nothing.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

ECDSA_TYPES: dict[nethsm.KeyType, hashes.HashAlgorithm] = {
    T.EC_P256: hashes.SHA256(),
    T.EC_P384: hashes.SHA384(),
    T.EC_P521: hashes.SHA512(),
    T.EC_P256K1: hashes.SHA256(),
    T.BRAINPOOL_P256: hashes.SHA256(),
    T.BRAINPOOL_P384: hashes.SHA384(),
    T.BRAINPOOL_P512: hashes.SHA512(),
}


def check_signatures(
    operator: nethsm.NetHSM, reader: nethsm.NetHSM, key_id: str, key_type: nethsm.KeyType
) -> None:
    """Sign with every mode the key type has and verify each signature with `cryptography`."""
    message = b"a device's whole life " + key_id.encode()
    pub = public_key(reader, key_id)
    if key_type is T.RSA:
        assert isinstance(pub, rsa.RSAPublicKey)
        digest = hashlib.sha256(message).digest()
        sig = operator.sign(key_id, b64(SHA256_DIGEST_INFO + digest), S.PKCS1).decode()
        pub.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
        sig = operator.sign(key_id, b64(digest), S.PSS_SHA256).decode()
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        pub.verify(sig, digest, pss, Prehashed(hashes.SHA256()))
    elif key_type is T.CURVE25519:
        assert isinstance(pub, ed25519.Ed25519PublicKey)
        pub.verify(operator.sign(key_id, b64(message), S.EDDSA).decode(), message)
    else:
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        algorithm = ECDSA_TYPES[key_type]
        h = hashes.Hash(algorithm)
        h.update(message)
        digest = h.finalize()
        der = operator.sign(key_id, b64(digest), S.ECDSA).decode()
        pub.verify(der, digest, ec.ECDSA(Prehashed(algorithm)))
        if key_type is T.EC_P256K1:
            msg32 = hashlib.sha256(message).digest()
            sig = operator.sign(key_id, b64(msg32), S.BIP340).decode()
            point = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
            x_only = point[1:]
            assert coincurve.PublicKeyXOnly(x_only).verify(sig, msg32)


def check_rsa_decryption(operator: nethsm.NetHSM, reader: nethsm.NetHSM, key_id: str) -> None:
    pub = public_key(reader, key_id)
    assert isinstance(pub, rsa.RSAPublicKey)
    secret = b"a secret for the device"
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    assert operator.decrypt(key_id, b64(pub.encrypt(secret, oaep)), D.OAEP_SHA256).decode() == secret
    assert operator.decrypt(key_id, b64(pub.encrypt(secret, padding.PKCS1v15())), D.PKCS1).decode() == secret
    numbers = pub.public_numbers()
    m = int.from_bytes(secret, "big")
    raw = pow(m, numbers.e, numbers.n).to_bytes(pub.key_size // 8, "big")
    plain = operator.decrypt(key_id, b64(raw), D.RAW).decode()
    assert len(plain) == pub.key_size // 8 and plain.lstrip(b"\0") == secret


def check_aes(operator: nethsm.NetHSM, key_id: str, key: bytes) -> None:
    """AES-CBC without padding, both directions, checked against `cryptography` with the known key."""
    plaintext = b"sixteen byte blk" * 3
    result = operator.encrypt(key_id, b64(plaintext), nethsm.EncryptMode.AES_CBC)
    iv = result.iv.decode()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    assert decryptor.update(result.encrypted.decode()) + decryptor.finalize() == plaintext
    iv2 = bytes(range(16))
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv2)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    assert operator.decrypt(key_id, b64(ciphertext), D.AES_CBC, iv=b64(iv2)).decode() == plaintext


def now() -> datetime:
    return datetime.now(UTC)


GENERATED: dict[str, tuple[nethsm.KeyType, list[nethsm.KeyMechanism], int]] = {
    "rsa": (
        T.RSA,
        [
            K.RSA_SIGNATURE_PKCS1,
            K.RSA_SIGNATURE_PSS_SHA256,
            K.RSA_DECRYPTION_OAEP_SHA256,
            K.RSA_DECRYPTION_PKCS1,
            K.RSA_DECRYPTION_RAW,
        ],
        2048,
    ),
    "ed": (T.CURVE25519, [K.EDDSA_SIGNATURE], 128),
    "p256": (T.EC_P256, [K.ECDSA_SIGNATURE], 128),
    "p384": (T.EC_P384, [K.ECDSA_SIGNATURE], 128),
    "p521": (T.EC_P521, [K.ECDSA_SIGNATURE], 128),
    "k1": (T.EC_P256K1, [K.ECDSA_SIGNATURE, K.BIP340_SIGNATURE], 128),
    "bp256": (T.BRAINPOOL_P256, [K.ECDSA_SIGNATURE], 128),
    "bp384": (T.BRAINPOOL_P384, [K.ECDSA_SIGNATURE], 128),
    "bp512": (T.BRAINPOOL_P512, [K.ECDSA_SIGNATURE], 128),
}
AES_KEY = bytes(range(100, 132))  # imported, so `cryptography` can check the device's AES work


def exercise_keys(operator: nethsm.NetHSM, admin: nethsm.NetHSM) -> None:
    for key_id, (key_type, _mechs, _length) in GENERATED.items():
        check_signatures(operator, admin, key_id, key_type)
    check_rsa_decryption(operator, admin, "rsa")
    check_aes(operator, "aes", AES_KEY)
    generated_aes = "aes-gen"
    roundtrip = operator.encrypt(generated_aes, b64(b"\x42" * 32), nethsm.EncryptMode.AES_CBC)
    back = operator.decrypt(generated_aes, roundtrip.encrypted, D.AES_CBC, iv=roundtrip.iv)
    assert back.decode() == b"\x42" * 32


class Device(Protocol):
    """What the life below needs from a running emulated NetHSM."""

    fingerprint: str  # the certificate the client pins

    @property
    def host_port(self) -> str: ...

    def trust_served_certificate(self) -> None: ...

    def restart(self) -> None: ...

    def close(self) -> None: ...


class EmbeddedDevice:
    """The in-process server over a state directory; a restart is a power cycle on the same port."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._emu = EmbeddedEmulator(state_dir)
        self._emu.start()
        self.fingerprint = self._emu.fingerprint

    @property
    def host_port(self) -> str:
        return self._emu.host_port

    def trust_served_certificate(self) -> None:
        # In process the model says which certificate it serves; the served one must be it.
        assert fingerprint_of(fetch_certificate(self.host_port)) == self._emu.fingerprint
        self.fingerprint = self._emu.fingerprint

    def restart(self) -> None:
        port = int(self.host_port.rsplit(":", 1)[1])
        self._emu.hsm.shutdown()  # what the CLI does on SIGTERM: counters written, then off
        self._emu.stop()
        self._emu = EmbeddedEmulator(self.state_dir, port=port)
        self._emu.start()
        assert self._emu.fingerprint == self.fingerprint

    def close(self) -> None:
        self._emu.stop()


@pytest.fixture(params=["embedded", "process"])
def device(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Device]:
    """The same life against both ways of running the emulator, each with a state directory."""
    made: Device = EmbeddedDevice(tmp_path / "state") if request.param == "embedded" else ProcessDevice(
        tmp_path / "state"
    )
    try:
        yield made
    finally:
        made.close()


@pytest.mark.slow
def test_whole_life_of_a_device(device: Device) -> None:
    clients: list[nethsm.NetHSM] = []

    def login(user: str | None = None, passphrase: str | None = None) -> nethsm.NetHSM:
        # Pins the certificate trusted *now*: it changes on factory reset and restore.
        auth = None
        if user is not None:
            auth = nethsm.Authentication(user, passphrase if passphrase is not None else PASS[user])
        client = nethsm.NetHSM(device.host_port, auth)
        pin_sdk(client, device.fingerprint)
        clients.append(client)
        return client

    try:
        _live(device, login)
    finally:
        for client in clients:
            client.close()


def _live(device: Device, login: Callable[..., nethsm.NetHSM]) -> None:
    # Pinning is real: the fingerprint we pin is the one the server presents.
    assert fingerprint_of(fetch_certificate(device.host_port)) == device.fingerprint
    anon = login()
    assert anon.get_state() is nethsm.State.UNPROVISIONED

    # --- provision --------------------------------------------------------------------
    anon.provision(UNLOCK, ADMIN, now())
    assert anon.get_state() is nethsm.State.OPERATIONAL
    admin = login("admin")
    assert admin.list_users() == ["admin"]

    # --- users of every role ----------------------------------------------------------
    roles = {
        "admin2": nethsm.Role.ADMINISTRATOR,
        "operator": nethsm.Role.OPERATOR,
        "metrics": nethsm.Role.METRICS,
        "backup": nethsm.Role.BACKUP,
    }
    for user_id, role in roles.items():
        assert admin.add_user(f"The {role.value}", role, PASS[user_id], user_id) == user_id
    for user_id, role in roles.items():
        assert admin.get_user(user_id).role is role
    admin2 = login("admin2")
    operator = login("operator")
    metrics = login("metrics")
    backup_user = login("backup")
    assert admin2.list_users() == ["admin", "admin2", "backup", "metrics", "operator"]
    assert "uptime" in metrics.get_metrics()
    assert len(operator.get_random_data(32).decode()) == 32
    fails(lambda: admin.get_random_data(8), "Operator")
    fails(backup_user.list_users, "Administrator")

    # --- a namespace administrator and its keys ---------------------------------------
    admin.add_user("Acme admin", nethsm.Role.ADMINISTRATOR, PASS["acme~admin"], "admin", "acme")
    acme_admin = login("acme~admin")
    fails(acme_admin.list_keys, "Access denied")  # namespace not created yet
    admin.add_namespace("acme")
    assert admin.list_namespaces() == ["acme"]
    acme_admin.add_user("Acme operator", nethsm.Role.OPERATOR, PASS["acme~op"], "op", "acme")
    acme_op = login("acme~op")
    acme_admin.generate_key(T.EC_P256, [K.ECDSA_SIGNATURE], 128, "signer")
    acme_admin.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "ed")
    assert acme_admin.list_keys() == ["ed", "signer"]
    check_signatures(acme_op, acme_admin, "signer", T.EC_P256)
    assert admin.list_users() == sorted(PASS)  # the root administrator sees namespace users
    assert acme_admin.list_users() == ["acme~admin", "acme~op"]
    # The root administrator cannot see the namespace's keys.
    assert admin.list_keys() == []
    fails(lambda: admin.get_key("signer"), "not found")
    # And loses write power over the namespace's users once the namespace exists.
    fails(lambda: admin.delete_user("acme~op"), "Access denied")

    # --- keys of every type ---------------------------------------------------------
    for key_id, (key_type, mechanisms, length) in GENERATED.items():
        assert admin.generate_key(key_type, mechanisms, length, key_id) == key_id
    admin.add_key(
        "aes",
        T.GENERIC,
        [K.AES_ENCRYPTION_CBC, K.AES_DECRYPTION_CBC],
        nethsm.GenericPrivateKey(data=b64(AES_KEY)),
    )
    admin.generate_key(T.GENERIC, [K.AES_ENCRYPTION_CBC, K.AES_DECRYPTION_CBC], 256, "aes-gen")
    for key_id, (key_type, mechanisms, _length) in GENERATED.items():
        key = operator.get_key(key_id)
        assert key.type is key_type and set(key.mechanisms) == set(mechanisms)
    assert admin.get_key("aes").public_key is None
    exercise_keys(operator, admin)
    fails(lambda: admin.sign("ed", b64(b"x"), S.EDDSA), "Operator")
    root_keys = admin.list_keys()
    assert root_keys == sorted([*GENERATED, "aes", "aes-gen"])
    publics = {k: admin.get_key_public_key(k) for k in GENERATED}

    # --- lock and unlock --------------------------------------------------------------
    admin.lock()
    assert anon.get_state() is nethsm.State.LOCKED
    fails(lambda: operator.sign("ed", b64(b"x"), S.EDDSA), "Precondition failed")
    fails(lambda: anon.unlock("not-the-unlock-passphrase"))
    # The device rate-limits unlock for a second after a failure (§3).
    deadline = datetime.now(UTC).timestamp() + 5
    while True:
        try:
            anon.unlock(UNLOCK)
            break
        except nethsm.NetHSMError as exc:
            assert "Too many requests" in str(exc) and datetime.now(UTC).timestamp() < deadline
    assert anon.get_state() is nethsm.State.OPERATIONAL
    check_signatures(operator, admin, "ed", T.CURVE25519)

    # --- backup -----------------------------------------------------------------------
    fails(backup_user.backup, "backup passphrase is not set")
    admin.set_backup_passphrase(BACKUP_PASS)
    blob = backup_user.backup()
    records = EncryptedBackup.parse(blob).decrypt(BACKUP_PASS)
    assert records.version == 1
    for path in (
        "/authentication/admin",
        "/authentication/operator",
        "/authentication/acme~admin",
        "/key/rsa",
        "/key/aes",
        "/key/.acme/signer",
        "/namespace/acme",
        "/config/version",
    ):
        assert path in records.data, path
    assert len(records.domain_key) == 60

    # --- power cycle: the emulator stops and starts again over its state directory ----
    operations = operator.get_key("ed").operations
    assert operations > 0
    device.restart()  # same port, same TLS identity (checked inside)
    anon = login()
    assert anon.get_state() is nethsm.State.LOCKED
    anon.unlock(UNLOCK)
    admin, operator = login("admin"), login("operator")
    assert admin.list_users() == sorted(PASS)
    assert admin.list_keys() == root_keys
    assert operator.get_key("ed").operations == operations  # RAM counters were written at shutdown
    check_signatures(operator, admin, "ed", T.CURVE25519)
    check_signatures(login("acme~op"), login("acme~admin"), "signer", T.EC_P256)
    backup_user = login("backup")

    # --- factory reset ----------------------------------------------------------------
    old_fingerprint = device.fingerprint
    admin.factory_reset()
    device.trust_served_certificate()
    anon = login()
    assert anon.get_state() is nethsm.State.UNPROVISIONED
    assert device.fingerprint != old_fingerprint  # a fresh device makes a fresh TLS key

    # --- restore: everything back ---------------------------------------------------
    anon.restore(blob, BACKUP_PASS, now())
    device.trust_served_certificate()  # the backup brought the old TLS key and certificate back
    anon = login()
    assert device.fingerprint == old_fingerprint
    assert anon.get_state() is nethsm.State.LOCKED
    anon.unlock(UNLOCK)
    assert anon.get_state() is nethsm.State.OPERATIONAL
    admin, operator = login("admin"), login("operator")
    assert admin.list_users() == sorted(PASS)
    assert admin.list_keys() == root_keys
    assert {k: admin.get_key_public_key(k) for k in GENERATED} == publics
    exercise_keys(operator, admin)
    assert login("metrics").get_metrics()
    assert login("acme~admin").list_keys() == ["ed", "signer"]
    check_signatures(login("acme~op"), login("acme~admin"), "signer", T.EC_P256)
    assert login("backup").backup()  # backup passphrase came back too

    # --- a real device's backup -------------------------------------------------------
    admin.factory_reset()
    device.trust_served_certificate()
    anon = login()
    assert anon.get_state() is nethsm.State.UNPROVISIONED
    anon.restore((VECTORS / "v1.bin").read_bytes(), "backupbackup", now())
    device.trust_served_certificate()
    anon = login()
    assert anon.get_state() is nethsm.State.LOCKED
    anon.unlock("unlockunlock")
    real_operator = login("operator", "operatoroperator")
    key = real_operator.get_key("mykey")
    assert key.type is T.CURVE25519 and key.mechanisms == [K.EDDSA_SIGNATURE]
    message = b"signed by a key born in a real NetHSM"
    signature = real_operator.sign("mykey", b64(message), S.EDDSA).decode()
    pub = public_key(real_operator, "mykey")
    assert isinstance(pub, ed25519.Ed25519PublicKey)
    pub.verify(signature, message)
    assert base64.b64decode(key.public_key.data.data) == pub.public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert login("admin", "adminadmin").list_users() == ["admin", "backup", "operator"]
