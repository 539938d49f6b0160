"""Device operations for administration (users, namespaces, keys, batch) against the emulator over HTTPS."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from hsmconsole.device import keys, namespaces, users
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.keyfiles import load_private_key
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import AuthError, InputError, StateError
from hsmconsole.inventory import CsrSubject, KeyMechanism, KeyType
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret

from .conftest import ADMIN_PASSPHRASE

OP_PASS = "operator-passphrase"


def admin() -> Credentials:
    return Credentials("admin", Secret(ADMIN_PASSPHRASE))


@pytest.fixture
def client(provisioned: EmbeddedEmulator) -> Iterator[DeviceClient]:
    yield DeviceClient(Profile("t", provisioned.host_port, fingerprint=provisioned.fingerprint))


def test_users_add_list_details_tags_passphrase_delete(client: DeviceClient) -> None:
    a = admin()
    users.add_user(client, a, "op1", "Olga Operator", UserRole.OPERATOR, Secret(OP_PASS))
    users.add_user(client, a, "met", "Metrics", UserRole.METRICS, Secret(OP_PASS))
    users.add_tag(client, a, "op1", "berlin")
    users.add_tag(client, a, "op1", "berlin")  # already there: not an error
    users.add_tag(client, a, "op1", "munich")
    found = {u.user_id: u for u in users.list_users(client, a)}
    assert set(found) == {"admin", "op1", "met"}
    assert found["op1"].real_name == "Olga Operator"
    assert found["op1"].role is UserRole.OPERATOR
    assert found["op1"].tags == ("berlin", "munich")
    assert found["met"].tags == ()
    users.remove_tag(client, a, "op1", "munich")
    assert users.get_user(client, a, "op1").tags == ("berlin",)
    with pytest.raises(InputError, match="only Operator"):
        users.add_tag(client, a, "met", "x")
    with pytest.raises(InputError, match="already exists"):
        users.add_user(client, a, "op1", "again", UserRole.OPERATOR, Secret(OP_PASS))
    users.set_passphrase(client, a, "op1", Secret("a-new-passphrase"))
    client.check_user(Credentials("op1", Secret("a-new-passphrase")))
    with pytest.raises(InputError, match="rotation"):
        users.set_passphrase(client, a, "admin", Secret("whatever-long"))
    users.delete_user(client, a, "met")
    with pytest.raises(InputError, match="no user met"):
        users.get_user(client, a, "met")
    with pytest.raises(InputError, match="cannot delete itself"):
        users.delete_user(client, a, "admin")


def test_namespace_order_and_namespace_admin_sees_only_its_own(client: DeviceClient) -> None:
    a = admin()
    # The device's order: the namespace's administrator first, then the namespace.
    users.add_user(client, a, "repo~admin", "Repo admin", UserRole.ADMINISTRATOR, Secret(OP_PASS))
    namespaces.create_namespace(client, a, "repo")
    assert namespaces.list_namespaces(client, a) == ["repo"]
    with pytest.raises(InputError, match="already exists"):
        namespaces.create_namespace(client, a, "repo")
    nadmin = Credentials("repo~admin", Secret(OP_PASS))
    users.add_user(client, nadmin, "repo~op", "Repo operator", UserRole.OPERATOR, Secret(OP_PASS))
    assert users.list_user_ids(client, nadmin) == ["repo~admin", "repo~op"]
    with pytest.raises(AuthError):
        namespaces.list_namespaces(client, nadmin)
    keys.generate_key(client, nadmin, KeyType.CURVE25519, [KeyMechanism.EDDSA_SIGNATURE], key_id="sig")
    assert keys.list_key_ids(client, nadmin) == ["sig"]
    assert keys.list_key_ids(client, a) == []  # root cannot see namespaced keys
    namespaces.delete_namespace(client, a, "repo")
    assert namespaces.list_namespaces(client, a) == []
    with pytest.raises(InputError, match="no namespace"):
        namespaces.delete_namespace(client, a, "repo")


def test_keys_generate_details_move_tags_cert_csr_delete(client: DeviceClient) -> None:
    a = admin()
    kid = keys.generate_key(
        client, a, KeyType.RSA, [KeyMechanism.RSA_SIGNATURE_PKCS1], 2048,
        key_id="rsa1", tags=["web"], label="Web",
    )
    assert kid == "rsa1"
    info = keys.key_details(client, a, "rsa1")
    assert (info.type, info.bits, info.tags, info.label) == (KeyType.RSA, 2048, ("web",), "Web")
    assert info.mechanisms == (KeyMechanism.RSA_SIGNATURE_PKCS1,)
    assert info.has_certificate is False
    pub = serialization.load_pem_public_key(info.public_pem.encode())
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 2048
    assert keys.public_key_pem(client, a, "rsa1") == info.public_pem

    csr_pem = keys.csr(
        client, a, "rsa1",
        CsrSubject("repo.example.org", country="DE", organization="Example",
                   subject_alt_names=("repo.example.org", "mirror.example.org")),
    )
    req = x509.load_pem_x509_csr(csr_pem.encode())
    assert req.is_signature_valid
    assert req.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "repo.example.org"
    san = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"repo.example.org", "mirror.example.org"}

    cert = b"-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"
    keys.set_certificate(client, a, "rsa1", cert)
    assert keys.get_certificate(client, a, "rsa1") == cert
    with pytest.raises(InputError, match="already has a certificate"):
        keys.set_certificate(client, a, "rsa1", cert)
    keys.delete_certificate(client, a, "rsa1")
    assert keys.get_certificate(client, a, "rsa1") is None

    keys.add_tag(client, a, "rsa1", "ci")
    keys.remove_tag(client, a, "rsa1", "web")
    keys.move_key(client, a, "rsa1", "rsa-renamed")
    assert keys.list_key_ids(client, a) == ["rsa-renamed"]
    assert keys.get_key(client, a, "rsa-renamed").tags == ("ci",)
    keys.generate_key(client, a, KeyType.GENERIC, [KeyMechanism.AES_ENCRYPTION_CBC], 256, key_id="aes")
    with pytest.raises(InputError, match="already exists"):
        keys.move_key(client, a, "rsa-renamed", "aes")
    with pytest.raises(InputError, match="no public key"):
        keys.public_key_pem(client, a, "aes")
    assert keys.list_key_ids(client, a, prefix="rs") == ["rsa-renamed"]
    keys.delete_key(client, a, "rsa-renamed")
    with pytest.raises(InputError, match="no key rsa-renamed"):
        keys.get_key(client, a, "rsa-renamed")


def test_generate_refuses_what_the_device_refuses_before_sending(client: DeviceClient) -> None:
    a = admin()
    with pytest.raises(InputError, match="cannot be used with"):
        keys.generate_key(client, a, KeyType.CURVE25519, [KeyMechanism.ECDSA_SIGNATURE])
    with pytest.raises(InputError, match="1024 to 8192"):
        keys.generate_key(client, a, KeyType.RSA, [KeyMechanism.RSA_SIGNATURE_PKCS1], 512)
    with pytest.raises(InputError, match="at least one"):
        keys.generate_key(client, a, KeyType.EC_P256, [])
    with pytest.raises(InputError, match="not valid"):
        keys.generate_key(client, a, KeyType.EC_P256, [KeyMechanism.ECDSA_SIGNATURE], key_id="-bad")
    assert keys.list_key_ids(client, a) == []


def _operator(client: DeviceClient, tags: tuple[str, ...] = ()) -> Credentials:
    users.add_user(client, admin(), "op", "Op", UserRole.OPERATOR, Secret(OP_PASS))
    for tag in tags:
        users.add_tag(client, admin(), "op", tag)
    return Credentials("op", Secret(OP_PASS))


def test_import_pem_pkcs8_pkcs12_and_use_as_operator(client: DeviceClient) -> None:
    a = admin()
    op = _operator(client, ("sign",))
    ed = ed25519.Ed25519PrivateKey.generate()
    pem = ed.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"filepass"),
    )
    with pytest.raises(InputError, match="protected by a passphrase"):
        load_private_key(pem)
    with pytest.raises(InputError, match="does not open"):
        load_private_key(pem, Secret("wrong"))
    loaded = load_private_key(pem, Secret("filepass"))
    assert loaded.type is KeyType.CURVE25519
    keys.import_key(client, a, loaded, [KeyMechanism.EDDSA_SIGNATURE], key_id="ed", tags=["sign"])
    sig = keys.sign(client, op, "ed", "EdDSA", b"hello")
    ed.public_key().verify(sig, b"hello")

    ec_key = ec.generate_private_key(ec.SECP384R1())
    p12 = pkcs12.serialize_key_and_certificates(
        b"k", ec_key, None, None, serialization.BestAvailableEncryption(b"p12pass")
    )
    loaded = load_private_key(p12, Secret("p12pass"))
    assert (loaded.type, loaded.source) == (KeyType.EC_P384, "PKCS#12")
    keys.import_key(client, a, loaded, [KeyMechanism.ECDSA_SIGNATURE], key_id="p384")
    digest = hashlib.sha384(b"msg").digest()
    der = keys.sign(client, op, "p384", "ECDSA", digest)
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    ec_key.public_key().verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA384())))

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    trad = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    loaded = load_private_key(trad)
    with pytest.raises(InputError, match="cannot be used with"):
        keys.import_key(client, a, loaded, [KeyMechanism.EDDSA_SIGNATURE])
    keys.import_key(client, a, loaded, [KeyMechanism.RSA_DECRYPTION_OAEP_SHA256], key_id="rsa")
    ct = rsa_key.public_key().encrypt(
        b"secret", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    )
    assert keys.decrypt(client, op, "rsa", "OAEP_SHA256", ct).reveal() == b"secret"

    aes = load_private_key(os.urandom(32))
    assert aes.type is KeyType.GENERIC
    both = [KeyMechanism.AES_ENCRYPTION_CBC, KeyMechanism.AES_DECRYPTION_CBC]
    keys.import_key(client, a, aes, both, key_id="aes")
    ct2, iv = keys.encrypt_aes(client, op, "aes", b"0123456789abcdef")
    assert keys.decrypt(client, op, "aes", "AES_CBC", ct2, iv).reveal() == b"0123456789abcdef"

    with pytest.raises(InputError, match="not a private key"):
        load_private_key(b"hello, this is not a key at all, definitely not")


def test_tag_restriction_is_explained(client: DeviceClient) -> None:
    op = _operator(client)
    keys.generate_key(
        client, admin(), KeyType.CURVE25519, [KeyMechanism.EDDSA_SIGNATURE], key_id="k", tags=["x"]
    )
    with pytest.raises(InputError, match="may not use key k"):
        keys.sign(client, op, "k", "EdDSA", b"m")


def test_batch_reuses_one_connection_and_ends(client: DeviceClient) -> None:
    a = admin()
    for i in range(5):
        keys.generate_key(client, a, KeyType.EC_P256, [KeyMechanism.ECDSA_SIGNATURE], key_id=f"k{i}")
    with client.batch(a) as batch:
        ids = keys.list_key_ids(batch, a)
        infos = keys.get_keys(batch, a, ids)
        users.add_user(batch, a, "bulk", "Bulk", UserRole.OPERATOR, Secret(OP_PASS))
        pool = batch._sdk.client.rest_client.pool_manager  # type: ignore[union-attr]
        (pool_key,) = pool.pools.keys()
        conn_pool = pool.pools[pool_key]
        assert conn_pool.num_connections == 1  # one TLS handshake for every request above
        assert batch.calls == 3
        with pytest.raises(ValueError):
            batch.call("x", Credentials("other", Secret("x")), lambda s: None)
    assert [k.key_id for k in infos] == ids and len(ids) == 5
    with pytest.raises(StateError, match="batch has ended"):
        keys.list_key_ids(batch, a)
    with pytest.raises(InputError, match="already exists"), client.batch(a) as b2:
        users.add_user(b2, a, "bulk", "Bulk", UserRole.OPERATOR, Secret(OP_PASS))
