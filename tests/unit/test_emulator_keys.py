"""The emulator's key cryptography, verified as a client would verify it, and the device's refusals."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import given
from hypothesis import strategies as st

from hsmconsole.emulator import keys, keys_raw
from hsmconsole.emulator.errors import ApiError
from tests.paths import SPEC

EC_TYPES = ["EC_P256", "EC_P384", "EC_P521", "EC_P256K1", "BrainpoolP256", "BrainpoolP384", "BrainpoolP512"]
EC_CURVES: dict[str, ec.EllipticCurve] = {
    "EC_P256": ec.SECP256R1(),
    "EC_P384": ec.SECP384R1(),
    "EC_P521": ec.SECP521R1(),
    "EC_P256K1": ec.SECP256K1(),
    "BrainpoolP256": ec.BrainpoolP256R1(),
    "BrainpoolP384": ec.BrainpoolP384R1(),
    "BrainpoolP512": ec.BrainpoolP512R1(),
}
EC_HASH = {
    "EC_P256": hashes.SHA256(),
    "EC_P384": hashes.SHA384(),
    "EC_P521": hashes.SHA512(),
    "EC_P256K1": hashes.SHA256(),
    "BrainpoolP256": hashes.SHA256(),
    "BrainpoolP384": hashes.SHA384(),
    "BrainpoolP512": hashes.SHA512(),
}
HASHES = {
    "MD5": hashes.MD5(),
    "SHA1": hashes.SHA1(),
    "SHA224": hashes.SHA224(),
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
MESSAGE = b"The NetHSM signs what it is given."


def all_mechanisms(key_type: str) -> list[str]:
    return sorted(keys._TYPE_MECHANISMS[key_type])


@pytest.fixture(scope="module")
def privs() -> dict[str, dict[str, Any]]:
    """One stored priv object per usable key type (a single RSA-2048 generation for the module)."""
    made = {t: keys.generate(t, None) for t in ["Curve25519", *EC_TYPES]}
    made["RSA"] = keys.generate("RSA", 2048)
    made["Generic"] = keys.generate("Generic", 256)
    return made


def public_keys(priv: dict[str, Any]) -> list[Any]:
    """The public key rebuilt from public_json and from public_pem, as a client would."""
    kind = keys.key_type(priv)
    pub = keys.public_json(priv)
    assert pub is not None
    if kind == "RSA":
        n = int.from_bytes(base64.b64decode(pub["modulus"]), "big")
        e = int.from_bytes(base64.b64decode(pub["publicExponent"]), "big")
        from_json: Any = rsa.RSAPublicNumbers(e, n).public_key()
    elif kind == "Curve25519":
        from_json = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(pub["data"]))
    else:
        from_json = ec.EllipticCurvePublicKey.from_encoded_point(
            EC_CURVES[kind], base64.b64decode(pub["data"])
        )
    from_pem = serialization.load_pem_public_key(keys.public_pem(priv).encode())
    return [from_json, from_pem]


def api_error(fn: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args)
    return info.value


# --- signatures verify with the public key a client sees -------------------------------------


def test_pkcs1_signs_digestinfo_as_given_and_verifies_as_standard_pkcs1_sha256(privs: dict[str, Any]) -> None:
    t = SHA256_DIGEST_INFO + hashlib.sha256(MESSAGE).digest()
    signature = keys.sign(privs["RSA"], ["RSA_Signature_PKCS1"], "PKCS1", t)
    assert len(signature) == 256
    for pub in public_keys(privs["RSA"]):
        pub.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


def test_pkcs1_of_arbitrary_bytes_pads_them_unchanged(privs: dict[str, Any]) -> None:
    # Not DigestInfo: the explicit EMSA-PKCS1-v1_5 path; the padded payload must be exactly T.
    for t in (b"", b"hello", bytes(range(245))):
        signature = keys.sign(privs["RSA"], ["RSA_Signature_PKCS1"], "PKCS1", t)
        for pub in public_keys(privs["RSA"]):
            assert pub.recover_data_from_signature(signature, padding.PKCS1v15(), None) == t


def test_pkcs1_explicit_encoding_matches_cryptography_byte_for_byte(privs: dict[str, Any]) -> None:
    """The hand-encoded path and cryptography's PKCS#1 signing give the same (deterministic) bytes."""
    key = serialization.load_pem_private_key(privs["RSA"]["PEM"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    t = SHA256_DIGEST_INFO + hashlib.sha256(MESSAGE).digest()
    em = b"\x00\x01" + b"\xff" * (256 - len(t) - 3) + b"\x00" + t
    explicit = keys_raw._private_op(key, int.from_bytes(em, "big"))
    assert explicit == keys.sign(privs["RSA"], ["RSA_Signature_PKCS1"], "PKCS1", t)
    assert explicit == key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())


@given(st.integers(min_value=2))
def test_raw_private_operation_inverts_the_public_one(privs: dict[str, Any], c: int) -> None:
    """PyCryptodome's private operation, checked against the public key as cryptography holds it."""
    key = serialization.load_pem_private_key(privs["RSA"]["PEM"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    pub = key.public_key().public_numbers()
    c %= pub.n
    if c < 2:
        return
    block = keys.decrypt(privs["RSA"], ["RSA_Decryption_RAW"], "RAW", c.to_bytes(256, "big"), None)
    assert len(block) == 256
    assert pow(int.from_bytes(block, "big"), pub.e, pub.n) == c


def test_pkcs1_too_long_for_the_key(privs: dict[str, Any]) -> None:
    err = api_error(keys.sign, privs["RSA"], ["RSA_Signature_PKCS1"], "PKCS1", b"x" * 246)
    assert (err.status, err.message) == (400, "Signing failure: RSA key too short.")


@pytest.mark.parametrize("hash_name", list(HASHES))
def test_pss_signs_the_given_digest(privs: dict[str, Any], hash_name: str) -> None:
    h = HASHES[hash_name]
    digest = hashlib.new(h.name, MESSAGE).digest()
    signature = keys.sign(privs["RSA"], all_mechanisms("RSA"), f"PSS_{hash_name}", digest)
    for pub in public_keys(privs["RSA"]):
        pub.verify(signature, digest, padding.PSS(padding.MGF1(h), h.digest_size), utils.Prehashed(h))
    err = api_error(keys.sign, privs["RSA"], all_mechanisms("RSA"), f"PSS_{hash_name}", digest + b"x")
    assert err.message == "digested data of invalid size"


def test_eddsa_signs_the_full_message(privs: dict[str, Any]) -> None:
    for message in (b"", MESSAGE, b"m" * 5000):
        signature = keys.sign(privs["Curve25519"], ["EdDSA_Signature"], "EdDSA", message)
        assert len(signature) == 64
        for pub in public_keys(privs["Curve25519"]):
            pub.verify(signature, message)


@pytest.mark.parametrize("kind", EC_TYPES)
def test_ecdsa_der_over_the_curve_hash(privs: dict[str, Any], kind: str) -> None:
    h = EC_HASH[kind]
    digest = hashlib.new(h.name, MESSAGE).digest()
    signature = keys.sign(privs[kind], ["ECDSA_Signature"], "ECDSA", digest)
    assert signature[0] == 0x30  # DER SEQUENCE{r, s}
    for pub in public_keys(privs[kind]):
        pub.verify(signature, digest, ec.ECDSA(utils.Prehashed(h)))
    err = api_error(keys.sign, privs[kind], ["ECDSA_Signature"], "ECDSA", digest[:-1])
    assert err.message == "digested data of invalid size"


@pytest.mark.parametrize("length", [0, 1, 32, 33, 200])
def test_bip340_verifies_with_the_x_only_public_key(privs: dict[str, Any], length: int) -> None:
    import coincurve  # a runtime dependency of the emulator (BIP340)

    message = bytes((i * 7) % 256 for i in range(length))
    signature = keys.sign(privs["EC_P256K1"], ["BIP340_Signature"], "BIP340", message)
    assert len(signature) == 64
    point = base64.b64decode(keys.public_json(privs["EC_P256K1"])["data"])  # type: ignore[index]
    xonly = coincurve.PublicKeyXOnly(point[1:33])
    assert xonly.verify(signature, message)
    assert not xonly.verify(signature, message + b"!")


def test_bip340_only_on_secp256k1(privs: dict[str, Any]) -> None:
    err = api_error(keys.sign, privs["EC_P256"], ["BIP340_Signature"], "BIP340", b"x" * 32)
    assert err.message == "invalid sign mode"


# --- decryption and encryption ---------------------------------------------------------------


def test_rsa_raw_decrypt_returns_the_full_modulus_block(privs: dict[str, Any]) -> None:
    pub = public_keys(privs["RSA"])[0].public_numbers()
    plain = b"\x00" * 200 + b"raw block"
    cipher = pow(int.from_bytes(plain, "big"), pub.e, pub.n).to_bytes(256, "big")
    assert keys.decrypt(privs["RSA"], ["RSA_Decryption_RAW"], "RAW", cipher, None) == plain.rjust(256, b"\0")
    # A PKCS#1 ciphertext decrypted RAW shows the type-2 padding block.
    pkcs1 = public_keys(privs["RSA"])[1].encrypt(b"secret", padding.PKCS1v15())
    block = keys.decrypt(privs["RSA"], ["RSA_Decryption_RAW"], "RAW", pkcs1, None)
    assert len(block) == 256 and block[:2] == b"\x00\x02" and block.endswith(b"\x00secret")
    for bad in (b"", b"\x01", pub.n.to_bytes(256, "big")):
        err = api_error(keys.decrypt, privs["RSA"], ["RSA_Decryption_RAW"], "RAW", bad, None)
        assert err.message == "Decryption failure"


def test_rsa_pkcs1_decrypt(privs: dict[str, Any]) -> None:
    for pub in public_keys(privs["RSA"]):
        cipher = pub.encrypt(b"pkcs1 secret", padding.PKCS1v15())
        assert keys.decrypt(privs["RSA"], ["RSA_Decryption_PKCS1"], "PKCS1", cipher, None) == b"pkcs1 secret"
    err = api_error(keys.decrypt, privs["RSA"], ["RSA_Decryption_PKCS1"], "PKCS1", b"short", None)
    assert err.message == "Decryption failure"


@pytest.mark.parametrize("hash_name", ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"])
def test_rsa_oaep_decrypt_with_empty_label(privs: dict[str, Any], hash_name: str) -> None:
    h = HASHES[hash_name]
    for pub in public_keys(privs["RSA"]):
        cipher = pub.encrypt(b"oaep secret", padding.OAEP(padding.MGF1(h), h, None))
        plain = keys.decrypt(privs["RSA"], all_mechanisms("RSA"), f"OAEP_{hash_name}", cipher, None)
        assert plain == b"oaep secret"
    err = api_error(
        keys.decrypt, privs["RSA"], all_mechanisms("RSA"), f"OAEP_{hash_name}", b"\x01" * 256, None
    )
    assert err.message == "Decryption failure"


def test_oaep_md5_is_a_documented_400(privs: dict[str, Any]) -> None:
    err = api_error(keys.decrypt, privs["RSA"], all_mechanisms("RSA"), "OAEP_MD5", b"\x01" * 256, None)
    assert err.status == 400 and "not supported by this emulator" in (err.message or "")


def test_aes_cbc_round_trip_equals_cryptography(privs: dict[str, Any]) -> None:
    raw = base64.b64decode(privs["Generic"]["raw"])
    assert len(raw) == 32
    iv = bytes(range(16))
    plain = b"sixteen byte blk" * 3
    cipher, used_iv = keys.encrypt(privs["Generic"], ["AES_Encryption_CBC"], "AES_CBC", plain, iv)
    enc = Cipher(algorithms.AES(raw), modes.CBC(iv)).encryptor()
    assert used_iv == iv and cipher == enc.update(plain) + enc.finalize()
    mechs = ["AES_Decryption_CBC"]
    assert keys.decrypt(privs["Generic"], mechs, "AES_CBC", cipher, iv) == plain
    cipher2, random_iv = keys.encrypt(privs["Generic"], ["AES_Encryption_CBC"], "AES_CBC", plain, None)
    assert (
        len(random_iv) == 16 and keys.decrypt(privs["Generic"], mechs, "AES_CBC", cipher2, random_iv) == plain
    )


def test_aes_cbc_refusals_in_the_device_words(privs: dict[str, Any]) -> None:
    gen = privs["Generic"]
    enc, dec = ["AES_Encryption_CBC"], ["AES_Decryption_CBC"]
    assert api_error(keys.encrypt, gen, enc, "AES_CBC", b"x" * 15, None).message == (
        "Encryption failed: CBC: argument length 15 not of block size"
    )
    assert api_error(keys.encrypt, gen, enc, "AES_CBC", b"x" * 16, b"short").message == (
        "Encryption failed: CBC: IV length 5 not of block size"
    )
    assert (
        api_error(keys.decrypt, gen, dec, "AES_CBC", b"x" * 16, None).message == "AES-CBC decrypt requires IV"
    )
    assert api_error(keys.decrypt, gen, dec, "AES_CBC", b"x" * 17, b"\0" * 16).message == (
        "Decryption failed: CBC: argument length 17 not of block size"
    )
    odd = keys.generate("Generic", 160)  # 20 bytes: a Generic key AES cannot use
    assert api_error(keys.encrypt, odd, enc, "AES_CBC", b"x" * 16, None).message == (
        "Encryption failed: AES.of_secret: key length 20"
    )
    assert api_error(keys.decrypt, gen, ["RSA_Decryption_RAW"], "RAW", b"x", None).message == (
        "decrypt mode not supported by Generic key"
    )


def test_mechanism_and_key_kind_refusals(privs: dict[str, Any]) -> None:
    rsa_priv = privs["RSA"]
    assert api_error(keys.sign, rsa_priv, ["RSA_Decryption_RAW"], "PKCS1", b"x").message == (
        "Key mechanisms do not allow requested signing."
    )
    assert api_error(keys.decrypt, rsa_priv, ["RSA_Signature_PKCS1"], "RAW", b"x", None).message == (
        "Key mechanisms do not allow requested decryption."
    )
    assert api_error(keys.encrypt, privs["Generic"], [], "AES_CBC", b"x" * 16, None).message == (
        "Key mechanisms do not allow requested encryption."
    )
    # Imports do not check mechanisms against the type: the mode check comes after.
    assert api_error(keys.sign, rsa_priv, ["EdDSA_Signature"], "EdDSA", b"x").message == "invalid sign mode"
    assert api_error(keys.sign, privs["Generic"], ["ECDSA_Signature"], "ECDSA", b"x").message == (
        "Generic keys can't sign."
    )
    assert api_error(keys.decrypt, privs["EC_P256"], ["RSA_Decryption_RAW"], "RAW", b"x", None).message == (
        "Decryption only supported for RSA and Generic keys."
    )
    assert api_error(keys.encrypt, rsa_priv, ["AES_Encryption_CBC"], "AES_CBC", b"x" * 16, None).message == (
        "Encryption only supported for Generic keys."
    )


# --- import ----------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_import_json_rsa_from_primes_gives_the_same_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    nums = key.private_numbers()
    private = {
        "primeP": b64(nums.p.to_bytes(64, "big")),
        "primeQ": b64(nums.q.to_bytes(64, "big")),
        "publicExponent": b64(b"\x01\x00\x01"),
    }
    priv = keys.import_json("RSA", private)
    assert keys.key_type(priv) == "RSA"
    assert public_keys(priv)[0].public_numbers() == key.public_key().public_numbers()
    # ...and the imported key signs what the original verifies.
    t = SHA256_DIGEST_INFO + hashlib.sha256(MESSAGE).digest()
    key.public_key().verify(
        keys.sign(priv, ["RSA_Signature_PKCS1"], "PKCS1", t), MESSAGE, padding.PKCS1v15(), hashes.SHA256()
    )


@pytest.mark.parametrize("kind", EC_TYPES)
def test_import_json_ec_scalar(kind: str) -> None:
    key = ec.generate_private_key(EC_CURVES[kind])
    size = keys._CURVES[kind].scalar_len
    priv = keys.import_json(kind, {"data": b64(key.private_numbers().private_value.to_bytes(size, "big"))})
    assert keys.key_type(priv) == kind
    expected = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert keys.public_json(priv) == {"data": b64(expected)}
    assert api_error(keys.import_json, kind, {"data": b64(b"\x01" * (size - 1))}).message == (
        "Cannot parse point: invalid length"
    )
    assert (
        api_error(keys.import_json, kind, {"data": b64(bytes(size))}).message
        == "Cannot parse point: invalid range"
    )


def test_import_json_curve25519_seed_and_generic_raw() -> None:
    seed = bytes(range(32))
    priv = keys.import_json("Curve25519", {"data": b64(seed)})
    expected = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()
    assert keys.public_json(priv) == {
        "data": b64(expected.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    }
    generic = keys.import_json("Generic", {"data": b64(b"k" * 24)})
    assert generic == {"raw": b64(b"k" * 24)} and keys.key_type(generic) == "Generic"
    assert keys.public_json(generic) is None
    assert api_error(keys.public_pem, generic).message == "Generic keys have no public key"


def test_import_json_refusals() -> None:
    err = api_error(keys.import_json, "RSA", {"primeP": "no*base64", "primeQ": "", "publicExponent": "AQAB"})
    assert err.message == 'Invalid base64 encoded value (error: Malformed input) in "primeP": <redacted>'
    err = api_error(keys.import_json, "RSA", {"primeP": "", "primeQ": "", "publicExponent": "AQA"})
    assert err.message == 'Invalid base64 encoded value (error: Wrong padding) in "publicExponent": AQA'
    assert api_error(
        keys.import_json, "RSA", {"primeP": "", "primeQ": "", "publicExponent": "AQAB"}
    ).message == ("invalid prime p")
    same = b64((2**127 - 1).to_bytes(16, "big"))
    assert api_error(
        keys.import_json, "RSA", {"primeP": same, "primeQ": same, "publicExponent": "AQAB"}
    ).message == ("p and q are the same prime")
    composite = {"primeP": b64((2**127 + 1).to_bytes(17, "big")), "primeQ": same, "publicExponent": "AQAB"}
    assert api_error(keys.import_json, "RSA", composite).message == "invalid prime p or q"
    assert api_error(keys.import_json, "EC_P224", {"data": b64(b"x" * 28)}).message == "P224 is unsupported"
    assert api_error(keys.import_json, "EC_P256", {"data": "!!"}).message == "Malformed input"
    assert api_error(keys.import_json, "Generic", {"data": "a"}).message == (
        'Invalid base64 encoded value (error: Malformed input) in "data": <redacted>'
    )


def pem_of(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    pem: bytes = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    return pem


def test_import_pem_all_three_labels() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    cases = [
        (pem_of(rsa_key), "RSA"),
        (pem_of(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL), "RSA"),
        (pem_of(ec_key, serialization.PrivateFormat.TraditionalOpenSSL), "EC_P384"),
        (pem_of(ed25519.Ed25519PrivateKey.generate()), "Curve25519"),
        (pem_of(ec.generate_private_key(ec.BrainpoolP256R1())), "BrainpoolP256"),
    ]
    for pem, kind in cases:
        got_kind, priv = keys.import_pem(pem)
        assert got_kind == kind == keys.key_type(priv)
        assert priv["PEM"].startswith("-----BEGIN PRIVATE KEY-----")  # stored as PKCS#8


def test_import_pem_refusals() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encrypted = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    for bad in (
        b"",
        b"junk",
        public,
        encrypted,
        pem_of(x25519.X25519PrivateKey.generate()),
        pem_of(ec_key) * 2,
    ):
        err = api_error(keys.import_pem, bad)
        assert err.status == 400 and (err.message or "").startswith("Could not parse PEM private key")
    assert (
        api_error(keys.import_pem, pem_of(ec.generate_private_key(ec.SECP224R1()))).message
        == "P224 is unsupported"
    )
    assert api_error(keys.import_pem, pem_of(ec.generate_private_key(ec.SECP192R1()))).status == 400


# --- public parts, CSR, certificates ---------------------------------------------------------


def test_public_json_shapes(privs: dict[str, Any]) -> None:
    rsa_pub = keys.public_json(privs["RSA"])
    assert rsa_pub is not None and rsa_pub["publicExponent"] == "AQAB"
    assert len(base64.b64decode(rsa_pub["modulus"])) == 256
    point_sizes = {"EC_P256": 65, "EC_P384": 97, "EC_P521": 133, "EC_P256K1": 65, "BrainpoolP512": 129}
    for kind, size in point_sizes.items():
        data = base64.b64decode(keys.public_json(privs[kind])["data"])  # type: ignore[index]
        assert data[0] == 4 and len(data) == size
    assert len(base64.b64decode(keys.public_json(privs["Curve25519"])["data"])) == 32  # type: ignore[index]
    assert keys.public_json(privs["Generic"]) is None
    assert keys.public_pem(privs["EC_P256"]).startswith("-----BEGIN PUBLIC KEY-----")


def test_corrupted_record_is_the_emulators_fault() -> None:
    for bad in ({}, {"PEM": "nope"}, {"raw": "*"}):
        assert api_error(keys.key_type, bad).status == 500


def load_csr(pem: str) -> x509.CertificateSigningRequest:
    csr = x509.load_pem_x509_csr(pem.encode())
    assert csr.is_signature_valid
    return csr


def sans_of(csr: x509.CertificateSigningRequest) -> list[Any] | None:
    try:
        ext = csr.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return None
    san: x509.SubjectAlternativeName = ext.value  # type: ignore[assignment]
    return list(san)


@pytest.mark.parametrize("kind", ["RSA", "Curve25519", "EC_P256", "EC_P521", "EC_P256K1", "BrainpoolP384"])
def test_csr_is_signed_by_the_key(privs: dict[str, Any], kind: str) -> None:
    dn = {
        "commonName": "hsm.example",
        "countryName": "DE",
        "organizationName": "Nitro",
        "emailAddress": "a@b.c",
    }
    csr = load_csr(keys.csr_pem(privs[kind], dn))
    pub = csr.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pub.decode() == keys.public_pem(privs[kind])
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "hsm.example"
    assert csr.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == "a@b.c"
    assert len(csr.subject.rdns) == 1  # the device puts every attribute in one RDN
    assert sans_of(csr) == [x509.DNSName("hsm.example")]


def test_csr_subject_alt_names(privs: dict[str, Any]) -> None:
    key = privs["EC_P256"]
    assert sans_of(load_csr(keys.csr_pem(key, {"commonName": "a", "subjectAltNames": []}))) is None
    csr = load_csr(
        keys.csr_pem(key, {"commonName": "a", "subjectAltNames": ["IP:10.1.2.3", "b.example", "IP:x"]})
    )
    assert sans_of(csr) == [
        x509.DNSName("b.example"),
        x509.DNSName("IP:x"),
        x509.IPAddress(ipaddress.ip_address("10.1.2.3")),
    ]


def test_csr_refusals(privs: dict[str, Any]) -> None:
    key = privs["EC_P256"]
    assert api_error(keys.csr_pem, key, {"commonName": ""}).message == "JSON field commonName is empty."
    assert (
        api_error(keys.csr_pem, key, {}).message
        == "Invalid data for JSON schema: Json.subject_req.commonName."
    )
    assert api_error(keys.csr_pem, key, {"commonName": "a", "x": 1}).message == (
        "Invalid data for JSON schema: Json.subject_req."
    )
    # The body is checked before the key kind.
    assert (
        api_error(keys.csr_pem, privs["Generic"], {"commonName": ""}).message
        == "JSON field commonName is empty."
    )
    assert api_error(keys.csr_pem, privs["Generic"], {"commonName": "a"}).message == (
        "Generic keys can't create certificates"
    )
    assert api_error(keys.csr_pem, key, {"commonName": "a", "countryName": "Germany"}).status == 400


def test_self_signed_certificate_as_at_first_boot() -> None:
    pem = keys.generate_tls_key("EC_P256", None)
    cert = x509.load_der_x509_certificate(keys.self_signed_certificate_der(pem))
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "keyfender"
    assert cert.not_valid_before_utc == datetime(1970, 1, 1, tzinfo=UTC)
    assert cert.not_valid_after_utc == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    cert.verify_directly_issued_by(cert)
    ed = keys.generate_tls_key("Curve25519", None)
    named = x509.load_der_x509_certificate(keys.self_signed_certificate_der(ed, "hsm.local"))
    assert named.subject.rfc4514_string() == "CN=hsm.local"


# --- generation --------------------------------------------------------------------------------


def test_check_generate_order_and_messages() -> None:
    def message(*args: Any) -> str | None:
        return api_error(keys.check_generate, *args).message

    assert message("RSA", ["EdDSA_Signature"], 512) == "RSA key length must be between 1024 and 8192."
    assert message("RSA", [], None) == "RSA key length must be between 1024 and 8192."
    assert message("RSA", ["EdDSA_Signature"], 2048) == "Mechanism does not match key type"
    assert message("RSA", [], 2048) == "Empty set of mechanisms"
    assert message("Generic", ["ECDSA_Signature"], 8) == "Mechanism does not match key type"
    assert message("Generic", ["AES_Encryption_CBC"], 127) == "Length must be between 128 and 8192."
    assert message("Generic", ["AES_Encryption_CBC"], 8193) == "Length must be between 128 and 8192."
    assert message("EC_P224", ["ECDSA_Signature"], None) == "Mechanism does not match key type"
    assert message("EC_P224", [], None) == "Empty set of mechanisms"
    assert message("Curve25519", ["BIP340_Signature"], None) == "Mechanism does not match key type"
    keys.check_generate("RSA", all_mechanisms("RSA"), 8192)
    keys.check_generate("EC_P256K1", ["ECDSA_Signature", "BIP340_Signature"], None)
    keys.check_generate("Generic", ["AES_Encryption_CBC", "AES_Decryption_CBC"], 128)
    assert set(keys.MECHANISM_ORDER) == set().union(*keys._TYPE_MECHANISMS.values())
    assert len(keys.MECHANISM_ORDER) == 20 and len(keys.KEY_TYPES) == 11


def test_generate_each_type() -> None:
    assert len(base64.b64decode(keys.generate("Generic", 129)["raw"])) == 17
    assert api_error(keys.generate, "Generic", 64).message == "Length must be between 128 and 8192."
    assert api_error(keys.generate, "EC_P224", None).message == "P224 is unsupported"
    small = keys.generate("RSA", 1024)
    assert len(base64.b64decode(keys.public_json(small)["modulus"])) == 128  # type: ignore[index]
    for kind in [*EC_TYPES, "Curve25519"]:
        assert keys.key_type(keys.generate(kind, 128)) == kind


def test_generate_tls_key_types() -> None:
    for kind in keys.TLS_KEY_TYPES:
        if kind == "RSA":
            continue
        kind_of_pem, _ = keys.import_pem(keys.generate_tls_key(kind, None))
        assert kind_of_pem == kind
    assert (
        api_error(keys.generate_tls_key, "Generic", None).message
        == "Unsupported key type '\"Generic\"' for TLS"
    )
    assert api_error(keys.generate_tls_key, "EC_P256K1", None).message == (
        "Unsupported key type '\"EC_P256K1\"' for TLS"
    )
    assert api_error(keys.generate_tls_key, "RSA", 512).message == "Length must be between 1024 and 8192."
    assert api_error(keys.generate_tls_key, "RSA", None).message == "Length must be between 1024 and 8192."


# --- properties: anything a request can carry ends in a 400, never another exception ---------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
b64ish = st.one_of(st.binary(max_size=80).map(b64), st.text(max_size=40))
private_objects = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={"primeP": b64ish, "primeQ": b64ish, "publicExponent": b64ish, "data": b64ish},
    ),
    st.dictionaries(st.sampled_from(["primeP", "data", "extra"]), json_values, max_size=3),
    json_values,
)
type_names = st.one_of(st.sampled_from(keys.KEY_TYPES), st.text(max_size=12))
mechanism_lists = st.lists(st.one_of(st.sampled_from(keys.MECHANISM_ORDER), st.text(max_size=8)), max_size=6)
mode_names = st.one_of(
    st.sampled_from(
        ["PKCS1", "PSS_SHA256", "PSS_MD5", "EdDSA", "ECDSA", "BIP340", "RAW", "OAEP_SHA1", "AES_CBC"]
    ),
    st.text(max_size=10),
)


def only_400(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except ApiError as exc:
        assert exc.status == 400, exc


@given(type_names, private_objects)
def test_import_json_only_ever_400(kind: str, private: Any) -> None:
    only_400(keys.import_json, kind, private)


@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda label, body: (
                b"-----BEGIN " + label + b"-----\n" + body + b"\n-----END " + label + b"-----\n"
            ),
            st.sampled_from([b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"PUBLIC KEY"]),
            st.binary(max_size=200).map(base64.encodebytes),
        ),
    )
)
def test_import_pem_only_ever_400(pem: bytes) -> None:
    only_400(keys.import_pem, pem)


@given(
    st.sampled_from(["RSA", "Curve25519", "EC_P256", "EC_P256K1", "BrainpoolP512", "Generic"]),
    mechanism_lists,
    mode_names,
    st.binary(max_size=300),
    st.one_of(st.none(), st.binary(max_size=20)),
)
def test_operations_only_ever_400(
    privs: dict[str, Any], kind: str, mechanisms: list[str], mode: str, data: bytes, iv: bytes | None
) -> None:
    every = list(keys.MECHANISM_ORDER) + mechanisms
    for mechs in (mechanisms, every):
        only_400(keys.sign, privs[kind], mechs, mode, data)
        only_400(keys.decrypt, privs[kind], mechs, mode, data, iv)
        only_400(keys.encrypt, privs[kind], mechs, mode, data, iv)


@given(
    st.sampled_from(["EC_P256", "Curve25519", "Generic"]),
    st.one_of(
        st.fixed_dictionaries(
            {"commonName": st.text(max_size=80)},
            optional={
                "countryName": st.text(max_size=4),
                "emailAddress": st.text(max_size=20),
                "organizationalUnitName": json_values,
                "subjectAltNames": st.one_of(json_values, st.lists(st.text(max_size=30), max_size=4)),
            },
        ),
        json_values,
    ),
)
def test_csr_only_ever_400(privs: dict[str, Any], kind: str, dn: Any) -> None:
    only_400(keys.csr_pem, privs[kind], dn)


def test_mechanisms_and_types_match_the_spec() -> None:
    """MECHANISM_ORDER is the spec's KeyMechanism enum in order; KEY_TYPES is KeyType plus EC_P224."""
    import yaml  # comes with the test extras (schemathesis)

    schemas = yaml.safe_load(SPEC.read_text())["components"]["schemas"]
    assert list(keys.MECHANISM_ORDER) == schemas["KeyMechanism"]["enum"]
    assert [t for t in keys.KEY_TYPES if t != "EC_P224"] == schemas["KeyType"]["enum"]
    assert list(keys.TLS_KEY_TYPES) == schemas["TlsKeyType"]["enum"]
