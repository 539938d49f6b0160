"""The reference section by section through the official SDK (raw HTTPS where the SDK hides a status)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nethsm
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID
from nethsm.backup import EncryptedBackup

from hsmconsole.device.tls import pin_sdk
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.emulator.sysupdate import build_update
from tests.integration.conftest import RawClient
from tests.integration.helpers import b64, fails, public_key
from tests.paths import VECTORS

UNLOCK = "unlockunlock"
ADMIN_PW = "adminadmin"
PASS = {
    "admin": ADMIN_PW,
    "op": "operator-pass-1",
    "op2": "operator-pass-2",
    "metrics": "metrics-pass-1",
    "backup": "backup-pass-01",
    "ns1~admin": "ns1-admin-pass",
    "ns1~op": "ns1-operator-p",
    "ns2~admin": "ns2-admin-pass",
}
K = nethsm.KeyMechanism
T = nethsm.KeyType


class Device:
    """One emulated NetHSM with SDK clients pinned to whatever certificate it serves now."""

    def __init__(self, emulator: EmbeddedEmulator) -> None:
        self.emulator = emulator
        self.clients: list[nethsm.NetHSM] = []

    def sdk(self, user: str | None = None, passphrase: str | None = None) -> nethsm.NetHSM:
        auth = None
        if user is not None:
            auth = nethsm.Authentication(user, passphrase if passphrase is not None else PASS[user])
        client = nethsm.NetHSM(self.emulator.host_port, auth)
        pin_sdk(client, self.emulator.fingerprint)
        self.clients.append(client)
        return client

    def raw(self) -> RawClient:
        return RawClient(self.emulator)

    def provision(self) -> None:
        self.sdk().provision(UNLOCK, ADMIN_PW, datetime.now(UTC))

    def state(self) -> nethsm.State:
        return self.sdk().get_state()

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()


def _device(provisioned: bool) -> Iterator[Device]:
    with EmbeddedEmulator() as emulator:
        device = Device(emulator)
        if provisioned:
            device.provision()
        try:
            yield device
        finally:
            device.close()


@pytest.fixture
def fresh() -> Iterator[Device]:
    """An unprovisioned device of its own (for tests that change the state)."""
    yield from _device(provisioned=False)


@pytest.fixture
def operational() -> Iterator[Device]:
    """A provisioned device of its own (for tests that lock, reboot, reset or restore)."""
    yield from _device(provisioned=True)


@pytest.fixture(scope="module")
def shared() -> Iterator[Device]:
    """One Operational device with users of every role and two namespaces, for tests that leave it so."""
    for device in _device(provisioned=True):
        admin = device.sdk("admin")
        admin.add_user("Op", nethsm.Role.OPERATOR, PASS["op"], "op")
        admin.add_user("Op Two", nethsm.Role.OPERATOR, PASS["op2"], "op2")
        admin.add_user("Metrics", nethsm.Role.METRICS, PASS["metrics"], "metrics")
        admin.add_user("Backup", nethsm.Role.BACKUP, PASS["backup"], "backup")
        admin.add_user("NS1 admin", nethsm.Role.ADMINISTRATOR, PASS["ns1~admin"], "admin", "ns1")
        admin.add_user("NS1 op", nethsm.Role.OPERATOR, PASS["ns1~op"], "op", "ns1")
        admin.add_user("NS2 admin", nethsm.Role.ADMINISTRATOR, PASS["ns2~admin"], "admin", "ns2")
        admin.add_namespace("ns1")
        admin.add_namespace("ns2")
        yield device


# --- §2.1 states and availability -------------------------------------------------------------


def test_unprovisioned_availability(fresh: Device) -> None:
    anon = fresh.sdk()
    assert anon.get_state() is nethsm.State.UNPROVISIONED
    assert anon.get_info() == nethsm.Info(vendor="Nitrokey GmbH", product="NetHSM")
    fails(lambda: anon.unlock(UNLOCK), "Precondition failed")
    # 412 comes before authentication: credentials that cannot exist do not matter.
    fails(fresh.sdk("admin", "whatever-pass").list_users, "Precondition failed")
    raw = fresh.raw()
    assert raw.request("GET", "/health/alive").status == 200
    ready = raw.request("GET", "/health/ready")
    assert (ready.status, ready.json()) == (412, {"message": "Service not available"})
    assert raw.request("POST", "/lock").status == 412
    assert raw.request("POST", "/system/reboot").status == 412
    raw.close()


def test_locked_and_operational_availability(operational: Device) -> None:
    anon, admin = operational.sdk(), operational.sdk("admin")
    raw = operational.raw()
    fails(lambda: anon.provision(UNLOCK, ADMIN_PW, datetime.now(UTC)), "Precondition failed")
    fails(lambda: anon.unlock(UNLOCK), "Precondition failed")
    assert raw.request("GET", "/health/ready").status == 200
    assert raw.request("GET", "/health/alive").status == 412
    admin.lock()
    assert anon.get_state() is nethsm.State.LOCKED
    fails(admin.list_keys, "Precondition failed")
    fails(lambda: anon.provision(UNLOCK, ADMIN_PW, datetime.now(UTC)), "Precondition failed")
    assert raw.request("GET", "/health/alive").status == 200
    assert raw.request("POST", "/system/reboot", auth=("admin", ADMIN_PW)).status == 412
    assert raw.request("POST", "/system/restore").status == 412
    anon.unlock(UNLOCK)
    assert admin.list_users() == ["admin"]
    raw.close()


# --- §3 authentication and rate limiting ------------------------------------------------------


def test_authentication_headers_and_rate_limit(shared: Device) -> None:
    raw = shared.raw()
    missing = raw.request("GET", "/users")
    assert missing.status == 401 and missing.body == b""
    assert missing.headers["WWW-Authenticate"] == 'Basic realm="NetHSM"'
    wrong = raw.request("GET", "/users", auth=("metrics", "not-the-passphrase"))
    assert wrong.status == 401 and wrong.headers["WWW-Authenticate"] == 'Basic realm="invalid authorization"'
    # Within a second of a failure, even the right passphrase for that user name gets 429 ...
    limited = raw.request("GET", "/metrics", auth=("metrics", PASS["metrics"]))
    assert (limited.status, limited.json()) == (429, {"message": "Too many requests"})
    fails(shared.sdk("metrics").get_metrics, "Too many requests")
    # ... other user names are unaffected, and unauthenticated endpoints ignore credentials.
    assert raw.request("GET", "/users", auth=("admin", ADMIN_PW)).status == 200
    assert raw.request("GET", "/info", auth=("metrics", "nonsense")).status == 200
    time.sleep(1.1)
    assert shared.sdk("metrics").get_metrics()
    raw.close()


@pytest.mark.slow
def test_unlock_rate_limit_and_wrong_passphrase(operational: Device) -> None:
    operational.sdk("admin").lock()
    anon = operational.sdk()
    raw = operational.raw()
    wrong = raw.request("POST", "/unlock", json_body={"passphrase": "wrong-passphrase"})
    assert (wrong.status, wrong.json()) == (403, {"message": "not authenticated"})
    limited = raw.request("POST", "/unlock", json_body={"passphrase": UNLOCK})
    assert (limited.status, limited.json()) == (429, {"message": "Service unavailable: too many requests"})
    time.sleep(1.1)
    anon.unlock(UNLOCK)
    assert anon.get_state() is nethsm.State.OPERATIONAL
    raw.close()


# --- §4 roles and namespaces ------------------------------------------------------------------


def test_roles_do_not_overlap(shared: Device) -> None:
    admin, op, metrics, backup = (shared.sdk(u) for u in ("admin", "op", "metrics", "backup"))
    admin.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "roles-key")
    fails(lambda: admin.sign("roles-key", b64(b"m"), nethsm.SignMode.EDDSA), "Access denied")
    fails(lambda: admin.get_random_data(8), "Access denied")
    assert op.get_key("roles-key").type is T.CURVE25519  # operators may read keys
    assert "BEGIN PUBLIC KEY" in op.get_key_public_key("roles-key")
    assert "BEGIN CERTIFICATE REQUEST" in op.key_csr("roles-key", common_name="roles")
    fails(lambda: op.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "nope"), "Access denied")
    fails(op.list_users, "Access denied")
    fails(admin.get_metrics, "Access denied")
    fails(metrics.list_keys, "Access denied")
    fails(backup.list_users, "Access denied")
    assert op.get_user("op").role is nethsm.Role.OPERATOR  # an operator may read itself
    fails(lambda: op.get_user("op2"), "Access denied")
    # Metrics and Backup users cannot change even their own passphrase; operators can.
    fails(lambda: metrics.set_passphrase("metrics", "another-pass-1"), "Access denied")
    fails(lambda: backup.set_passphrase("backup", "another-pass-1"), "Access denied")
    op2 = shared.sdk("op2")
    op2.set_passphrase("op2", "operator-pass-3")
    op2_new = shared.sdk("op2", "operator-pass-3")
    assert len(op2_new.get_random_data(16).decode()) == 16
    op2_new.set_passphrase("op2", PASS["op2"])
    admin.delete_key("roles-key")


def test_namespace_lifecycle_and_visibility(shared: Device) -> None:
    root = shared.sdk("admin")
    # An N-user of a namespace that does not exist authenticates but may do nothing.
    root.add_user("Ghost", nethsm.Role.ADMINISTRATOR, "ghost-admin-1", "admin", "ghost")
    fails(shared.sdk("ghost~admin", "ghost-admin-1").list_keys, "Access denied")
    ns1, ns2 = shared.sdk("ns1~admin"), shared.sdk("ns2~admin")
    ns1.generate_key(T.EC_P256, [K.ECDSA_SIGNATURE], 128, "same-id")
    ns2.generate_key(T.EC_P384, [K.ECDSA_SIGNATURE], 128, "same-id")
    root.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "same-id")
    assert ns1.get_key("same-id").type is T.EC_P256
    assert ns2.get_key("same-id").type is T.EC_P384
    assert root.get_key("same-id").type is T.CURVE25519
    assert "same-id" in root.list_keys() and ns1.list_keys() == ["same-id"]
    # R-Admin sees every user, an N-Admin only its namespace's.
    assert {"ns1~admin", "ns1~op", "ns2~admin", "ghost~admin"} <= set(root.list_users())
    assert ns1.list_users() == ["ns1~admin", "ns1~op"]
    assert root.get_user("ns1~op").role is nethsm.Role.OPERATOR
    # Once the namespace exists, R-Admin loses write power over its users.
    fails(lambda: root.delete_user("ns1~op"), "Access denied")
    fails(lambda: root.add_user("x", nethsm.Role.OPERATOR, "operator-x-1", "x", "ns1"), "Access denied")
    fails(lambda: ns1.delete_user("ns2~admin"), "Access denied")
    fails(ns1.list_namespaces, "Access denied")
    fails(ns1.get_config_network, "Access denied")
    # An N-admin creates users in its own namespace; POST /users/ns1~ gives a generated id. (The SDK's
    # add_user(namespace=...) without an id cannot send it: its client-side UserID pattern rejects "ns1~".)
    raw = shared.raw()
    body = {"realName": "Generated", "role": "Operator", "passphrase": "generated-op-1"}
    posted = raw.request("POST", "/users/ns1~", auth=("ns1~admin", PASS["ns1~admin"]), json_body=body)
    raw.close()
    new_id = posted.json()["id"]
    assert posted.status == 201 and posted.headers["Location"] == f"/api/v1/users/{new_id}"
    assert new_id.startswith("ns1~") and len(new_id) == 4 + 20
    ns1.delete_user(new_id)
    ns1_op = shared.sdk("ns1~op")
    assert len(ns1_op.get_random_data(4).decode()) == 4
    digest = b"\x01" * 32
    der = ns1_op.sign("same-id", b64(digest), nethsm.SignMode.ECDSA).decode()
    pub = public_key(ns1, "same-id")
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    pub.verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    # Deleting a namespace removes its keys; its users remain, powerless, and R-Admin may delete them.
    root.delete_namespace("ns2")
    assert root.list_namespaces() == ["ns1"]
    fails(ns2.list_keys, "Access denied")
    root.add_namespace("ns2")
    assert shared.sdk("ns2~admin").list_keys() == []
    root.delete_user("ghost~admin")
    root.delete_key("same-id")
    ns1.delete_key("same-id")


# --- §5 validation ----------------------------------------------------------------------------


def test_identifier_passphrase_and_duplicate_rules(shared: Device) -> None:
    admin = shared.sdk("admin")
    raw = shared.raw()
    auth = ("admin", ADMIN_PW)
    for bad, message in [
        ("_key", "ID cannot start with underscore, dash, or dot."),
        ("k" * 129, "ID cannot be longer than 128 characters."),
        ("k%C3%BCy", "ID may only contain alphanumeric characters, underscores, dashes, and dots."),
    ]:
        reply = raw.request("GET", f"/keys/{bad}", auth=auth)
        assert (reply.status, reply.json()) == (400, {"message": message}), bad
    weak = raw.request(
        "PUT",
        "/users/shorty",
        auth=auth,
        json_body={"realName": "s", "role": "Operator", "passphrase": "x" * 9},
    )
    assert weak.status == 400
    assert weak.json() == {"message": "passphrase passphrase is not >= 10 and <= 200 characters"}
    unknown = raw.request("POST", "/keys/generate", auth=auth, json_body={"type": "RSA", "bogus": 1})
    assert unknown.status == 400 and "Invalid data for JSON schema" in unknown.json()["message"]
    admin.generate_key(T.EC_P256, [K.ECDSA_SIGNATURE], 128, "dup")
    # The device answers 400 for a duplicate key id (spec: 409), 409 for a duplicate user.
    text = fails(lambda: admin.generate_key(T.EC_P256, [K.ECDSA_SIGNATURE], 128, "dup"), "Bad request")
    assert "Key with id dup already exists" in text
    fails(lambda: admin.add_user("again", nethsm.Role.OPERATOR, "operator-again", "op"), "Conflict")
    dup_ns = raw.request("PUT", "/namespaces/ns1", auth=auth)
    assert (dup_ns.status, dup_ns.json()) == (400, {"message": "Namespace ns1 already exists"})
    fails(lambda: admin.generate_key(T.RSA, [K.RSA_SIGNATURE_PKCS1], 512, "small"), "RSA key length")
    fails(lambda: admin.generate_key(T.EC_P256, [K.EDDSA_SIGNATURE], 128, "mism"), "Mechanism does not match")
    fails(lambda: admin.generate_key(T.EC_P256, [K.ECDSA_SIGNATURE], 128, "lbl", label="x" * 33), "Label")
    admin.delete_key("dup")
    raw.close()


# --- §6.3 users and tags ----------------------------------------------------------------------


def test_users_and_operator_tags(shared: Device) -> None:
    admin = shared.sdk("admin")
    raw = shared.raw()
    auth = ("admin", ADMIN_PW)
    created = raw.request(
        "PUT",
        "/users/temp",
        auth=auth,
        json_body={"realName": "T", "role": "Operator", "passphrase": "temp-pass-01"},
    )
    assert (
        created.status == 201 and created.headers["Location"] == "/api/v1/users/temp" and created.body == b""
    )
    posted = raw.request(
        "POST",
        "/users",
        auth=auth,
        json_body={"realName": "P", "role": "Metrics", "passphrase": "posted-pass-1"},
    )
    new_id = posted.json()["id"]
    assert (
        posted.status == 201 and posted.headers["Location"] == f"/api/v1/users/{new_id}" and len(new_id) == 20
    )
    assert admin.get_user(new_id) == nethsm.User(user_id=new_id, real_name="P", role=nethsm.Role.METRICS)
    admin.add_operator_tag("temp", "berlin")
    again = raw.request("PUT", "/users/temp/tags/berlin", auth=auth)
    assert again.status == 304 and again.body == b""
    assert admin.list_operator_tags("temp") == ["berlin"]
    fails(lambda: admin.add_operator_tag(new_id, "berlin"), "not an operator")
    fails(lambda: admin.list_operator_tags(new_id), "not found")
    admin.delete_operator_tag("temp", "berlin")
    assert admin.list_operator_tags("temp") == []
    fails(lambda: admin.delete_operator_tag("temp", "berlin"), "not found")
    fails(lambda: admin.delete_user("admin"), "Users cannot delete themselves")
    admin.delete_user("temp")
    admin.delete_user(new_id)
    fails(lambda: admin.get_user("temp"), "not found")
    raw.close()


# --- §6.5 keys management ---------------------------------------------------------------------


def test_key_import_json_and_pem_and_public_parts(shared: Device) -> None:
    admin = shared.sdk("admin")
    rsa_key = rsa.generate_private_key(65537, 2048)
    n = rsa_key.private_numbers()

    def be(i: int) -> nethsm.Base64:
        return b64(i.to_bytes((i.bit_length() + 7) // 8, "big"))

    admin.add_key(
        "imp-rsa",
        T.RSA,
        [K.RSA_SIGNATURE_PKCS1],
        nethsm.RsaPrivateKey(prime_p=be(n.p), prime_q=be(n.q), public_exponent=be(n.public_numbers.e)),
        tags=["t1"],
        label="imported",
    )
    key = admin.get_key("imp-rsa")
    assert key.public_key == nethsm.RsaPublicKey(
        modulus=be(n.public_numbers.n), public_exponent=b64(b"\x01\x00\x01")
    )
    assert key.tags == ["t1"] and key.label == "imported" and key.operations == 0
    ec_key = ec.generate_private_key(ec.SECP384R1())
    scalar = ec_key.private_numbers().private_value.to_bytes(48, "big")
    generated_id = admin.add_key(
        None, T.EC_P384, [K.ECDSA_SIGNATURE], nethsm.GenericPrivateKey(data=b64(scalar))
    )
    assert len(generated_id) == 20
    point = ec_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert admin.get_key(generated_id).public_key == nethsm.EcPublicKey(data=b64(point))
    ed_key = ed25519.Ed25519PrivateKey.generate()
    pem = ed_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    admin.add_key_pem("imp-pem", [K.EDDSA_SIGNATURE], pem)
    spki = ed_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert admin.get_key_public_key("imp-pem").encode() == spki
    rsa_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    pem_id = admin.add_key_pem(None, [K.RSA_DECRYPTION_PKCS1], rsa_pem)
    assert admin.get_key(pem_id).public_key == key.public_key
    admin.add_key("imp-aes", T.GENERIC, [K.AES_ENCRYPTION_CBC], nethsm.GenericPrivateKey(data=b64(bytes(16))))
    assert admin.get_key("imp-aes").public_key is None
    fails(lambda: admin.get_key_public_key("imp-aes"), "Generic keys have no public key")
    for key_id in ("imp-rsa", generated_id, "imp-pem", pem_id, "imp-aes"):
        admin.delete_key(key_id)
    fails(lambda: admin.get_key("imp-rsa"), "not found")


def test_key_listing_move_label_csr_and_certificate(shared: Device) -> None:
    admin, op = shared.sdk("admin"), shared.sdk("op")
    raw = shared.raw()
    auth = ("admin", ADMIN_PW)
    admin.generate_key(T.EC_P256, [K.ECDSA_SIGNATURE], 128, "web-1", label="web")
    admin.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "web-2")
    admin.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "Web-3")
    assert admin.list_keys(prefix="web") == ["web-1", "web-2"]
    assert admin.list_keys(label="web") == ["web-1"]
    assert raw.request("GET", "/keys/*", auth=auth).status == 400
    admin.set_key_label("web-2", "second")
    assert admin.get_key("web-2").label == "second"
    unchanged = raw.request("PUT", "/keys/web-2/label", auth=auth, json_body={"label": "second"})
    assert unchanged.status == 304
    admin.set_key_label("web-2", None)
    assert admin.get_key("web-2").label is None
    moved = raw.request("POST", "/keys/Web-3/move", auth=auth, json_body={"newId": "web-3"})
    assert (moved.status, moved.json()) == (200, {"id": "web-3"})
    fails(lambda: admin.move_key("web-3", "web-1"), "Conflict")
    admin.move_key("web-3", "moved")
    assert "moved" in admin.list_keys() and "web-3" not in admin.list_keys()
    csr_pem = op.key_csr(
        "web-1", common_name="web.example", organization="Example", subject_alt_names=["IP:10.0.0.1"]
    )
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "web.example"
    assert csr.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode() == admin.get_key_public_key("web-1")
    # A certificate is stored verbatim: upload, read back, refuse a second one, delete.
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web.example")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(csr.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(issuer_key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    fails(lambda: op.get_key_certificate("web-1"), "not found")
    admin.set_key_certificate("web-1", der)
    assert op.get_key_certificate("web-1") == der
    fails(lambda: admin.set_key_certificate("web-1", der), "Conflict")
    admin.delete_key_certificate("web-1")
    fails(lambda: admin.delete_key_certificate("web-1"), "There is no certificate")
    for key_id in ("web-1", "web-2", "moved"):
        admin.delete_key(key_id)
    raw.close()


def test_key_tag_restrictions_with_operator_tags(shared: Device) -> None:
    admin, op = shared.sdk("admin"), shared.sdk("op")
    admin.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "tagged")
    admin.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "untagged")
    admin.add_key_tag("tagged", "berlin")
    assert admin.get_key("tagged").tags == ["berlin"]
    # The SDK shows this 403 as "Access denied" (it does not read that body); the device says why.
    fails(lambda: op.sign("tagged", b64(b"m"), nethsm.SignMode.EDDSA), "Access denied")
    raw = shared.raw()
    sign = {"mode": "EdDSA", "message": "bQ=="}
    refused = raw.request("POST", "/keys/tagged/sign", auth=("op", PASS["op"]), json_body=sign)
    raw.close()
    assert (refused.status, refused.json()) == (403, {"message": "tags restriction not met"})
    assert op.sign("untagged", b64(b"m"), nethsm.SignMode.EDDSA).decode()
    listed = op.list_keys(filter="x")
    assert "untagged" in listed and "tagged" not in listed
    admin.add_operator_tag("op", "berlin")
    signature = op.sign("tagged", b64(b"m"), nethsm.SignMode.EDDSA).decode()
    pub = public_key(op, "tagged")
    assert isinstance(pub, ed25519.Ed25519PublicKey)
    pub.verify(signature, b"m")
    assert "tagged" in op.list_keys(filter="x")
    assert admin.get_key("tagged").operations == 1
    admin.delete_key_tag("tagged", "berlin")
    fails(lambda: admin.delete_key_tag("tagged", "berlin"), "not found")
    admin.delete_operator_tag("op", "berlin")
    admin.delete_key("tagged")
    admin.delete_key("untagged")


def test_crypto_modes_and_mechanism_checks(shared: Device) -> None:
    admin, op = shared.sdk("admin"), shared.sdk("op")
    admin.generate_key(T.RSA, [K.RSA_SIGNATURE_PSS_SHA512, K.RSA_DECRYPTION_OAEP_SHA1], 2048, "rsa-modes")
    pub = public_key(admin, "rsa-modes")
    assert isinstance(pub, rsa.RSAPublicKey)
    digest = hashes.Hash(hashes.SHA512())
    digest.update(b"message")
    h = digest.finalize()
    sig = op.sign("rsa-modes", b64(h), nethsm.SignMode.PSS_SHA512).decode()
    pub.verify(sig, h, padding.PSS(padding.MGF1(hashes.SHA512()), 64), Prehashed(hashes.SHA512()))
    fails(lambda: op.sign("rsa-modes", b64(h), nethsm.SignMode.PKCS1), "Key mechanisms do not allow")
    oaep = padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)
    assert (
        op.decrypt("rsa-modes", b64(pub.encrypt(b"s", oaep)), nethsm.DecryptMode.OAEP_SHA1).decode() == b"s"
    )
    admin.generate_key(T.GENERIC, [K.AES_ENCRYPTION_CBC, K.AES_DECRYPTION_CBC], 128, "aes-modes")
    fails(lambda: op.encrypt("aes-modes", b64(b"not 16 bytes"), nethsm.EncryptMode.AES_CBC), "Bad request")
    fails(lambda: op.sign("aes-modes", b64(b"x"), nethsm.SignMode.EDDSA), "Bad request")
    fails(lambda: op.sign("missing-key", b64(b"x"), nethsm.SignMode.EDDSA), "not found")
    admin.delete_key("rsa-modes")
    admin.delete_key("aes-modes")


# --- §6.1 random and metrics ------------------------------------------------------------------


def test_random_and_metrics(shared: Device) -> None:
    op = shared.sdk("op")
    first, second = op.get_random_data(1024).decode(), op.get_random_data(1024).decode()
    assert len(first) == 1024 and first != second
    raw = shared.raw()
    too_long = raw.request("POST", "/random", auth=("op", PASS["op"]), json_body={"length": 1025})
    assert too_long.status == 400
    raw.close()
    metrics = shared.sdk("metrics").get_metrics()
    assert "uptime" in metrics and all(isinstance(v, str) for v in metrics.values())
    # "kv write" counts store writes: provisioning and user creation made some; a namespace adds one.
    writes = int(metrics["kv write"])
    assert writes > 0
    shared.sdk("admin").add_namespace("counted")
    assert int(shared.sdk("metrics").get_metrics()["kv write"]) == writes + 1
    shared.sdk("admin").delete_namespace("counted")


# --- §6.7 config ------------------------------------------------------------------------------


@pytest.mark.slow
def test_config_endpoints(operational: Device) -> None:
    admin = operational.sdk("admin")
    network = admin.get_config_network()
    assert (network.ip_address, network.netmask, network.gateway) == (
        "192.168.1.1",
        "255.255.255.0",
        "0.0.0.0",
    )
    admin.set_network_config("10.1.2.3", "255.255.0.0", "10.1.0.1")
    assert admin.get_config_network().ip_address == "10.1.2.3"
    logging = admin.get_config_logging()
    assert (logging.ip_address, logging.port, logging.log_level) == ("0.0.0.0", 514, nethsm.LogLevel.INFO)
    admin.set_logging_config("10.1.0.9", 5514, nethsm.LogLevel.WARNING)
    assert admin.get_config_logging().log_level is nethsm.LogLevel.WARNING
    when = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    admin.set_time(when)
    assert abs((admin.get_config_time() - when).total_seconds()) < 5
    assert admin.get_config_unattended_boot() == "off"
    admin.set_unattended_boot(nethsm.UnattendedBootStatus.ON)
    assert admin.get_config_unattended_boot() == "on"
    admin.set_unattended_boot(nethsm.UnattendedBootStatus.OFF)
    # §11: /config/ntp exists in SDK 3.0 but not on the device: 404.
    fails(admin.get_config_ntp, "404")
    tls_pub = admin.get_public_key()
    cert = x509.load_pem_x509_certificate(admin.get_certificate().encode())
    assert (
        cert.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        == tls_pub
    )
    csr = x509.load_pem_x509_csr(admin.csr(common_name="hsm.example").encode())
    assert csr.is_signature_valid
    # Passphrase changes: wrong current → 403; a new unlock passphrase works after lock.
    fails(lambda: admin.set_unlock_passphrase("new-unlock-1", "wrong-current"), "Access denied")
    raw = operational.raw()
    wrong = {"newPassphrase": "new-unlock-1", "currentPassphrase": "wrong-current"}
    refused = raw.request("PUT", "/config/unlock-passphrase", auth=("admin", ADMIN_PW), json_body=wrong)
    assert (refused.status, refused.json()) == (403, {"message": "unlock passphrase is incorrect."})
    refused = raw.request("PUT", "/config/backup-passphrase", auth=("admin", ADMIN_PW), json_body=wrong)
    assert (refused.status, refused.json()) == (403, {"message": "backup passphrase is incorrect."})
    raw.close()
    admin.set_unlock_passphrase("new-unlock-1", UNLOCK)
    admin.set_backup_passphrase("backup-pass-1")
    admin.set_backup_passphrase("backup-pass-2", "backup-pass-1")
    admin.lock()
    operational.sdk().unlock("new-unlock-1")
    assert operational.state() is nethsm.State.OPERATIONAL


def test_tls_key_generation_changes_the_served_certificate(operational: Device) -> None:
    for key_type, length in [(nethsm.TlsKeyType.EC_P384, None), (nethsm.TlsKeyType.RSA, 2048)]:
        before = operational.emulator.fingerprint
        operational.sdk("admin").generate_tls_key(key_type, length)
        after = operational.emulator.fingerprint
        assert after != before
        # The old pin must now be refused and the new one accepted (new connections).
        stale = nethsm.NetHSM(operational.emulator.host_port)
        pin_sdk(stale, before)
        with pytest.raises(nethsm.NetHSMRequestError):
            stale.get_state()
        stale.close()
        assert operational.sdk().get_state() is nethsm.State.OPERATIONAL
    fresh_admin = operational.sdk("admin")  # pinned to the certificate served now
    fails(
        lambda: fresh_admin.generate_tls_key(nethsm.TlsKeyType.RSA, 512),
        "Length must be between 1024 and 8192.",
    )


# --- §6.8 system ------------------------------------------------------------------------------


def test_system_info_and_update_refused(operational: Device) -> None:
    admin = operational.sdk("admin")
    info = admin.get_system_info()
    assert info.software_version and isinstance(info.tpm.attestation_keys, dict)
    fails(lambda: admin.update(b"not an update image"), "Bad request")
    fails(admin.commit_update, "Precondition failed")
    fails(admin.cancel_update, "Precondition failed")


def test_signed_update_through_the_sdk(tmp_path: Path) -> None:
    """An emulator trusting a test key: upload, refusals, cancel, commit → reboot into the new version."""
    vendor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    image = bytes(range(256)) * 4  # two 512-byte blocks
    with EmbeddedEmulator(tmp_path / "state", update_key=vendor.public_key()) as emulator:
        device = Device(emulator)
        device.provision()
        admin = device.sdk("admin")
        fails(lambda: admin.update(build_update(stranger, "evil", "6.0", image)), "Bad request")
        fails(lambda: admin.update(build_update(vendor, "old", "4.9", image)), "Conflict")
        signed = build_update(vendor, "Release 6.1: faster", "6.1", image)
        assert admin.update(signed) == "Release 6.1: faster"
        fails(lambda: admin.update(build_update(vendor, "again", "6.2", image)), "Conflict")
        admin.cancel_update()
        fails(admin.cancel_update, "Precondition failed")
        assert admin.update(signed) == "Release 6.1: faster"
        admin.commit_update()
        # The device reboots into the new firmware: Locked until unlocked, then it reports 6.1.
        assert device.state() is nethsm.State.LOCKED
        device.sdk().unlock(UNLOCK)
        assert device.sdk("admin").get_system_info().software_version == "6.1"
        fails(device.sdk("admin").commit_update, "Precondition failed")
        device.close()
    # The firmware version outlives a restart of the emulator (it is not data: kept with the hardware).
    with EmbeddedEmulator(tmp_path / "state", update_key=vendor.public_key()) as emulator:
        device = Device(emulator)
        device.sdk().unlock(UNLOCK)
        assert device.sdk("admin").get_system_info().software_version == "6.1"
        device.close()


def test_reboot_locks(operational: Device) -> None:
    operational.sdk("admin").reboot()
    assert operational.state() is nethsm.State.LOCKED


def test_reboot_with_unattended_boot_stays_operational(operational: Device) -> None:
    admin = operational.sdk("admin")
    admin.set_unattended_boot(nethsm.UnattendedBootStatus.ON)
    admin.reboot()
    assert operational.state() is nethsm.State.OPERATIONAL


def test_factory_reset(operational: Device) -> None:
    operational.sdk("admin").factory_reset()
    assert operational.state() is nethsm.State.UNPROVISIONED


def test_shutdown_powers_off(operational: Device) -> None:
    operational.sdk("admin").shutdown()
    deadline = time.monotonic() + 10
    while operational.emulator.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert operational.emulator.powered_off
    with pytest.raises(nethsm.NetHSMRequestError):
        operational.sdk().get_state()


# --- §8/§9 backup and restore -----------------------------------------------------------------


def test_backup_needs_passphrase_and_backup_role(operational: Device) -> None:
    admin = operational.sdk("admin")
    admin.add_user("B", nethsm.Role.BACKUP, PASS["backup"], "backup")
    backup = operational.sdk("backup")
    fails(backup.backup, "backup passphrase is not set")
    admin.set_backup_passphrase("backup-pass-1")
    fails(admin.backup, "Access denied")
    blob = backup.backup()
    decrypted = EncryptedBackup.parse(blob).decrypt("backup-pass-1")
    assert decrypted.version == 1 and "/authentication/backup" in decrypted.data


@pytest.mark.parametrize("vector", ["v0.bin", "v1.bin"])
def test_restore_real_device_backup_when_unprovisioned(fresh: Device, vector: str) -> None:
    anon = fresh.sdk()
    fails(lambda: anon.restore((VECTORS / vector).read_bytes(), "wrong-passphrase", None), "Bad request")
    anon.restore((VECTORS / vector).read_bytes(), "backupbackup", datetime.now(UTC))
    anon = fresh.sdk()  # the backup's TLS certificate is served now
    assert anon.get_state() is nethsm.State.LOCKED
    anon.unlock("unlockunlock")
    operator = fresh.sdk("operator", "operatoroperator")
    signature = operator.sign("mykey", b64(b"hello"), nethsm.SignMode.EDDSA).decode()
    pub = public_key(operator, "mykey")
    assert isinstance(pub, ed25519.Ed25519PublicKey)
    pub.verify(signature, b"hello")
    assert fresh.sdk("admin", "adminadmin").list_users() == ["admin", "backup", "operator"]


@pytest.mark.slow
def test_restore_when_operational_replaces_users_and_keys(operational: Device) -> None:
    admin = operational.sdk("admin")
    admin.add_user("B", nethsm.Role.BACKUP, PASS["backup"], "backup")
    admin.set_backup_passphrase("backup-pass-1")
    admin.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "kept")
    blob = operational.sdk("backup").backup()
    admin.add_user("Later", nethsm.Role.OPERATOR, "later-operator", "later")
    admin.generate_key(T.CURVE25519, [K.EDDSA_SIGNATURE], 128, "later-key")
    # Same device, same domain key: stays Operational; what the backup lacks is deleted (§9).
    admin.restore(blob, "backup-pass-1", datetime.now(UTC))
    assert operational.state() is nethsm.State.OPERATIONAL
    assert admin.list_keys() == ["kept"]
    assert admin.list_users() == ["admin", "backup"]
    # Another device's backup: the domain key differs → Locked, unlock with the backup's passphrase.
    admin.restore((VECTORS / "v1.bin").read_bytes(), "backupbackup", datetime.now(UTC))
    assert operational.state() is nethsm.State.LOCKED
    operational.sdk().unlock("unlockunlock")
    root = operational.sdk("admin", "adminadmin")
    assert root.list_keys() == ["mykey"]
    assert root.list_users() == ["admin", "backup", "operator"]


# --- §6.9 cluster -----------------------------------------------------------------------------


def test_cluster_of_one(shared: Device) -> None:
    admin = shared.sdk("admin")
    (member,) = admin.list_cluster_members()
    assert member.learner is False and member.urls == ["https://192.168.1.1:2380"]
    fails(lambda: admin.add_cluster_member(["https://192.168.1.2:2380"]), "backend is not etcd")
    fails(shared.sdk("ns1~admin").list_cluster_members, "Access denied")
