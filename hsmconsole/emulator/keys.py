"""Key cryptography as the NetHSM does it: generate, import, public parts, CSR, sign, decrypt, encrypt.

CONTRACT for app.py. Pure functions over the `priv` object of a stored key record
(reference §8.1): {"PEM": "<PKCS#8 PEM>"} for asymmetric keys, {"raw": "<base64>"} for Generic.
Every refusal raises ApiError(400, <device message>) (reference §5.3, §6.5, §6.6).
Key types and mechanisms are the API's strings ("RSA", "EC_P256", "EdDSA_Signature", ...).
A stored priv object that cannot be read is the emulator's own fault: ApiError(500).

All cryptography goes through the `cryptography` package, except where it offers no primitive
for what the device does (raw RSA, PKCS#1 signing of caller-built DigestInfo, BIP340): see
keys_raw.py for those and the reasons.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hsmconsole.emulator import keys_raw
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.keys_x509 import csr_pem_for, self_signed_der_for

__all__ = [
    "KEY_TYPES",
    "MECHANISM_ORDER",
    "TLS_KEY_TYPES",
    "ApiError",
    "check_generate",
    "csr_pem",
    "decrypt",
    "encrypt",
    "generate",
    "generate_tls_key",
    "import_json",
    "import_pem",
    "key_type",
    "public_json",
    "public_pem",
    "self_signed_certificate_der",
    "sign",
]

# Declaration order, used to emit mechanisms (deduplicated) in GET /keys/{id}.
MECHANISM_ORDER: tuple[str, ...] = (
    "RSA_Decryption_RAW",
    "RSA_Decryption_PKCS1",
    "RSA_Decryption_OAEP_MD5",
    "RSA_Decryption_OAEP_SHA1",
    "RSA_Decryption_OAEP_SHA224",
    "RSA_Decryption_OAEP_SHA256",
    "RSA_Decryption_OAEP_SHA384",
    "RSA_Decryption_OAEP_SHA512",
    "RSA_Signature_PKCS1",
    "RSA_Signature_PSS_MD5",
    "RSA_Signature_PSS_SHA1",
    "RSA_Signature_PSS_SHA224",
    "RSA_Signature_PSS_SHA256",
    "RSA_Signature_PSS_SHA384",
    "RSA_Signature_PSS_SHA512",
    "EdDSA_Signature",
    "ECDSA_Signature",
    "BIP340_Signature",
    "AES_Encryption_CBC",
    "AES_Decryption_CBC",
)

# The API's key types in the device's declaration order (EC_P224 parsed but unusable).
KEY_TYPES: tuple[str, ...] = (
    "RSA",
    "Curve25519",
    "EC_P224",
    "EC_P256",
    "EC_P384",
    "EC_P521",
    "EC_P256K1",
    "BrainpoolP256",
    "BrainpoolP384",
    "BrainpoolP512",
    "Generic",
)

TLS_KEY_TYPES: tuple[str, ...] = (
    "RSA",
    "Curve25519",
    "EC_P256",
    "EC_P384",
    "EC_P521",
    "BrainpoolP256",
    "BrainpoolP384",
    "BrainpoolP512",
)

_RSA_MECHANISMS: Final = frozenset(MECHANISM_ORDER[:15])
_TYPE_MECHANISMS: Final[dict[str, frozenset[str]]] = {
    "RSA": _RSA_MECHANISMS,
    "Curve25519": frozenset({"EdDSA_Signature"}),
    "EC_P224": frozenset(),  # still parsed by the device, matches nothing (reference §5.3)
    "EC_P256": frozenset({"ECDSA_Signature"}),
    "EC_P384": frozenset({"ECDSA_Signature"}),
    "EC_P521": frozenset({"ECDSA_Signature"}),
    "EC_P256K1": frozenset({"ECDSA_Signature", "BIP340_Signature"}),
    "BrainpoolP256": frozenset({"ECDSA_Signature"}),
    "BrainpoolP384": frozenset({"ECDSA_Signature"}),
    "BrainpoolP512": frozenset({"ECDSA_Signature"}),
    "Generic": frozenset({"AES_Encryption_CBC", "AES_Decryption_CBC"}),
}


@dataclass(frozen=True)
class _Curve:
    curve: ec.EllipticCurve
    hash: hashes.HashAlgorithm  # ECDSA input digest (reference §6.6)
    scalar_len: int  # private scalar length of the JSON import


_CURVES: Final[dict[str, _Curve]] = {
    "EC_P256": _Curve(ec.SECP256R1(), hashes.SHA256(), 32),
    "EC_P384": _Curve(ec.SECP384R1(), hashes.SHA384(), 48),
    "EC_P521": _Curve(ec.SECP521R1(), hashes.SHA512(), 66),
    "EC_P256K1": _Curve(ec.SECP256K1(), hashes.SHA256(), 32),
    "BrainpoolP256": _Curve(ec.BrainpoolP256R1(), hashes.SHA256(), 32),
    "BrainpoolP384": _Curve(ec.BrainpoolP384R1(), hashes.SHA384(), 48),
    "BrainpoolP512": _Curve(ec.BrainpoolP512R1(), hashes.SHA512(), 64),
}
_CURVE_TYPES: Final[dict[str, str]] = {c.curve.name: t for t, c in _CURVES.items()}

_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "MD5": hashes.MD5(),  # noqa: S303 - a mode the device offers; the caller chose it
    "SHA1": hashes.SHA1(),  # noqa: S303 - a mode the device offers; the caller chose it
    "SHA224": hashes.SHA224(),
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}

_SIGN_MODES: Final[dict[str, str]] = {
    "PKCS1": "RSA_Signature_PKCS1",
    **{f"PSS_{h}": f"RSA_Signature_PSS_{h}" for h in _HASHES},
    "EdDSA": "EdDSA_Signature",
    "ECDSA": "ECDSA_Signature",
    "BIP340": "BIP340_Signature",
}
_DECRYPT_MODES: Final[dict[str, str]] = {
    "RAW": "RSA_Decryption_RAW",
    "PKCS1": "RSA_Decryption_PKCS1",
    **{f"OAEP_{h}": f"RSA_Decryption_OAEP_{h}" for h in _HASHES},
    "AES_CBC": "AES_Decryption_CBC",
}
_ENCRYPT_MODES: Final[dict[str, str]] = {"AES_CBC": "AES_Encryption_CBC"}

_PEM_LABELS: Final = (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY")
_PRIVATE_FIELDS: Final = ("primeP", "primeQ", "publicExponent", "data")
_AES_BLOCK: Final = 16

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def _schema(detail: str) -> ApiError:
    return ApiError(400, f"Invalid data for JSON schema: {detail}.")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _minimal_be(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


# --- reading stored priv objects -----------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    type: str
    asym: PrivateKey | None  # None for Generic
    raw: bytes  # the Generic secret; b"" for asymmetric keys


def _classify(key: object) -> str:
    """The API type of a key object cryptography loaded, or ApiError(400) if the device has none."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "Curve25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name == "secp224r1":
            raise _bad("P224 is unsupported")
        if key.curve.name in _CURVE_TYPES:
            return _CURVE_TYPES[key.curve.name]
        raise _bad(f"Could not parse PEM private key: unsupported curve {key.curve.name}")
    raise _bad("Could not parse PEM private key: unsupported key type")


def _parse_pem(pem: bytes) -> tuple[str, PrivateKey]:
    """Loads (and so validates) a PEM private key of one of the device's labels."""
    labels = [
        line[len(b"-----BEGIN ") : -len(b"-----")]
        for line in (raw.strip() for raw in pem.splitlines())
        if line.startswith(b"-----BEGIN ") and line.endswith(b"-----")
    ]
    # The device takes exactly one private key of a known label (x509 decode_pem).
    if len(labels) != 1 or labels[0] not in _PEM_LABELS:
        raise _bad("Could not parse PEM private key")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # TypeError: an encrypted PEM. cryptography's own text is not shown: it may quote input.
        raise _bad("Could not parse PEM private key") from None
    key_type_ = _classify(key)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)
    return key_type_, key


@functools.lru_cache(maxsize=256)
def _load_stored_pem(pem: str) -> tuple[str, PrivateKey]:
    # Cached: loading validates RSA keys (primality checks), which costs more than a signature.
    return _parse_pem(pem.encode("ascii"))


def _load(priv: dict[str, Any]) -> _Key:
    try:
        if isinstance(priv, dict) and isinstance(priv.get("PEM"), str):
            kind, key = _load_stored_pem(priv["PEM"])
            return _Key(kind, key, b"")
        if isinstance(priv, dict) and isinstance(priv.get("raw"), str):
            return _Key("Generic", None, base64.b64decode(priv["raw"], validate=True))
    except (ApiError, ValueError, binascii.Error):
        pass
    raise ApiError(500, "Corrupted key record.")


def _pem_priv(key: PrivateKey) -> dict[str, Any]:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {"PEM": pem.decode("ascii")}


# --- generate --------------------------------------------------------------------------------


def check_generate(key_type: str, mechanisms: list[str], length: int | None) -> None:
    """The generate checks in the device's order: RSA length, every mechanism matches the type,
    non-empty mechanisms (reference §5.3), then the Generic length. (The device checks the
    Generic length in generate(), after the id; generate() checks it again.)"""
    if key_type not in _TYPE_MECHANISMS:
        raise _schema("Json.key_type")
    if any(m not in MECHANISM_ORDER for m in mechanisms):
        raise _schema("Json.mechanism")
    bits = length or 0
    if key_type == "RSA" and not 1024 <= bits <= 8192:
        raise _bad("RSA key length must be between 1024 and 8192.")
    if not all(m in _TYPE_MECHANISMS[key_type] for m in mechanisms):
        raise _bad("Mechanism does not match key type")
    if not mechanisms:
        raise _bad("Empty set of mechanisms")
    if key_type == "Generic":
        _check_generic_length(bits)


def _check_generic_length(bits: int) -> None:
    if not 128 <= bits <= 8192:
        raise _bad("Length must be between 128 and 8192.")


def _generate_asym(key_type: str, length: int | None) -> PrivateKey:
    if key_type == "RSA":
        bits = length or 0
        if not 1024 <= bits <= 8192:
            raise _bad("Length must be between 1024 and 8192.")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if key_type == "Curve25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type].curve)
    if key_type == "EC_P224":
        raise _bad("P224 is unsupported")
    raise _schema("Json.key_type")


def generate(key_type: str, length: int | None) -> dict[str, Any]:
    """A new private key → priv object (length is ignored except for RSA and Generic)."""
    if key_type == "Generic":
        bits = length or 0
        _check_generic_length(bits)
        return {"raw": _b64(secrets.token_bytes((bits + 7) // 8))}
    return _pem_priv(_generate_asym(key_type, length))


def generate_tls_key(key_type: str, length: int | None) -> bytes:
    """/config/tls/generate: a PKCS#8 PEM private key of an allowed TLS type (reference §5.3)."""
    if key_type not in TLS_KEY_TYPES:
        raise _bad(f"Unsupported key type '{json.dumps(key_type)}' for TLS")
    pem: str = _pem_priv(_generate_asym(key_type, length))["PEM"]
    return pem.encode("ascii")


# --- import ----------------------------------------------------------------------------------


def _b64_field(field: str, value: str, *, secret: bool) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        # The device quotes the value; a private value stays out of messages (house rule).
        reason = "Wrong padding" if "padding" in str(exc).lower() else "Malformed input"
        shown = "<redacted>" if secret else value
        raise _bad(f'Invalid base64 encoded value (error: {reason}) in "{field}": {shown}') from None


def _plain_b64(value: str) -> bytes:
    """EC/Curve25519 data go through x509's decoder, whose errors carry no field name."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad("Wrong padding" if "padding" in str(exc).lower() else "Malformed input") from None


def import_json(key_type: str, private: dict[str, Any]) -> dict[str, Any]:
    """From the JSON import body's "private" object (primes for RSA, data for EC/Curve25519/Generic)."""
    if not isinstance(private, dict) or any(k not in _PRIVATE_FIELDS for k in private):
        raise _schema("Json.private_key")
    fields: dict[str, str] = {}
    for name in _PRIVATE_FIELDS:
        value = private.get(name, "")
        if not isinstance(value, str):
            raise _schema(f"Json.private_key.{name}")
        fields[name] = value
    if key_type == "RSA":
        p = int.from_bytes(_b64_field("primeP", fields["primeP"], secret=True), "big")
        q = int.from_bytes(_b64_field("primeQ", fields["primeQ"], secret=True), "big")
        e = int.from_bytes(_b64_field("publicExponent", fields["publicExponent"], secret=False), "big")
        return _pem_priv(keys_raw.rsa_from_primes(p, q, e))
    if key_type == "Generic":
        return {"raw": _b64(_b64_field("data", fields["data"], secret=True))}
    if key_type == "Curve25519":
        seed = _plain_b64(fields["data"])
        if len(seed) != 32:
            raise _bad("Cannot parse point: invalid length")
        return _pem_priv(ed25519.Ed25519PrivateKey.from_private_bytes(seed))
    if key_type == "EC_P224":
        raise _bad("P224 is unsupported")
    if key_type in _CURVES:
        curve = _CURVES[key_type]
        scalar = _plain_b64(fields["data"])
        if len(scalar) != curve.scalar_len:
            raise _bad("Cannot parse point: invalid length")
        try:
            key = ec.derive_private_key(int.from_bytes(scalar, "big"), curve.curve)
        except ValueError:  # zero or not below the group order
            raise _bad("Cannot parse point: invalid range") from None
        return _pem_priv(key)
    raise _schema("Json.key_type")


def import_pem(pem: bytes) -> tuple[str, dict[str, Any]]:
    """From a PEM private key (PRIVATE KEY / RSA PRIVATE KEY / EC PRIVATE KEY) → (key type, priv).
    Stored re-encoded as PKCS#8, as the device does."""
    if not isinstance(pem, bytes):
        raise _bad("Could not parse PEM private key")
    kind, key = _parse_pem(pem)
    if isinstance(key, rsa.RSAPrivateKey):
        keys_raw.check_rsa_size(key.key_size)
    return kind, _pem_priv(key)


# --- public parts, CSR, certificates ---------------------------------------------------------


def key_type(priv: dict[str, Any]) -> str:
    """The API key type of a stored priv object."""
    return _load(priv).type


def public_json(priv: dict[str, Any]) -> dict[str, Any] | None:
    """GET /keys/{id} "public": RSA modulus/publicExponent, EC uncompressed point, Ed25519 raw;
    None for Generic (field omitted)."""
    key = _load(priv).asym
    if key is None:
        return None
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        return {
            "modulus": _b64(_minimal_be(numbers.n)),
            "publicExponent": _b64(_minimal_be(numbers.e)),
        }
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"data": _b64(raw)}
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"data": _b64(point)}


def public_pem(priv: dict[str, Any]) -> str:
    """SPKI PEM; Generic → ApiError(400, "Generic keys have no public key")."""
    key = _load(priv).asym
    if key is None:
        raise _bad("Generic keys have no public key")
    spki = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return spki.decode("ascii")


def csr_pem(priv: dict[str, Any], dn: dict[str, Any]) -> str:
    """A PKCS#10 CSR signed by the key, subject from the DN JSON (reference §6.7).
    The DN is checked first (as the device parses the body before reading the key)."""
    loaded = _load(priv)
    return csr_pem_for(loaded.asym, dn)


def self_signed_certificate_der(private_key_pem: bytes, common_name: str = "keyfender") -> bytes:
    """Self-signed cert valid 1970-01-01 … 9999-12-31, as the device makes at first boot."""
    _, key = _parse_pem(private_key_pem)
    return self_signed_der_for(key, common_name)


# --- sign / decrypt / encrypt ----------------------------------------------------------------


def _require(mechanisms: list[str], mechanism: str | None, what: str) -> str:
    if mechanism is None:
        raise _schema(f"Json.{what}_mode")
    if mechanism not in mechanisms:
        noun = {"sign": "signing", "decrypt": "decryption", "encrypt": "encryption"}[what]
        raise _bad(f"Key mechanisms do not allow requested {noun}.")
    return mechanism


def sign(priv: dict[str, Any], mechanisms: list[str], mode: str, message: bytes) -> bytes:
    """POST /keys/{id}/sign on the decoded message → raw signature bytes (reference §6.6)."""
    _require(mechanisms, _SIGN_MODES.get(mode) if isinstance(mode, str) else None, "sign")
    loaded = _load(priv)
    key = loaded.asym
    if key is None:
        raise _bad("Generic keys can't sign.")
    if isinstance(key, rsa.RSAPrivateKey):
        if mode == "PKCS1":
            return keys_raw.rsa_sign_pkcs1_as_given(key, message)
        if mode.startswith("PSS_"):
            digest = _HASHES[mode[4:]]
            _check_digest(message, digest)
            pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            try:
                return key.sign(message, pss, utils.Prehashed(digest))
            except ValueError:  # modulus too small for this hash and salt
                raise _bad("Signing failure: RSA key too short.") from None
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        if mode == "EdDSA":
            return key.sign(message)
    else:
        if mode == "BIP340" and loaded.type == "EC_P256K1":
            return keys_raw.bip340_sign(key, message)
        if mode == "ECDSA":
            digest = _CURVES[loaded.type].hash
            _check_digest(message, digest)
            return key.sign(message, ec.ECDSA(utils.Prehashed(digest)))
    raise _bad("invalid sign mode")


def _check_digest(message: bytes, digest: hashes.HashAlgorithm) -> None:
    if len(message) != digest.digest_size:
        raise _bad("digested data of invalid size")


def decrypt(priv: dict[str, Any], mechanisms: list[str], mode: str, data: bytes, iv: bytes | None) -> bytes:
    """POST /keys/{id}/decrypt on the decoded ciphertext → plaintext bytes (reference §6.6)."""
    _require(mechanisms, _DECRYPT_MODES.get(mode) if isinstance(mode, str) else None, "decrypt")
    loaded = _load(priv)
    key = loaded.asym
    if key is None:
        if mode != "AES_CBC":
            raise _bad("decrypt mode not supported by Generic key")
        if iv is None:
            raise _bad("AES-CBC decrypt requires IV")
        return _aes_cbc(loaded.raw, iv, data, encrypting=False)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _bad("Decryption only supported for RSA and Generic keys.")
    if mode == "RAW":
        return keys_raw.rsa_decrypt_raw(key, data)
    if mode == "PKCS1":
        scheme: padding.AsymmetricPadding = padding.PKCS1v15()
    elif mode.startswith("OAEP_"):
        digest = _HASHES[mode[5:]]
        scheme = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    else:  # AES_CBC on an RSA key
        raise _bad("Decryption failure")
    try:
        return key.decrypt(data, scheme)
    except UnsupportedAlgorithm:
        # cryptography refuses OAEP with MD5; the device offers it (see docs/emulator.md).
        raise _bad(f"Decryption failure: {mode} is not supported by this emulator") from None
    except ValueError:
        raise _bad("Decryption failure") from None


def encrypt(
    priv: dict[str, Any], mechanisms: list[str], mode: str, message: bytes, iv: bytes | None
) -> tuple[bytes, bytes]:
    """→ (ciphertext, iv). AES-CBC without padding; random IV if none given."""
    _require(mechanisms, _ENCRYPT_MODES.get(mode) if isinstance(mode, str) else None, "encrypt")
    loaded = _load(priv)
    if loaded.asym is not None:
        raise _bad("Encryption only supported for Generic keys.")
    used_iv = secrets.token_bytes(_AES_BLOCK) if iv is None else iv
    return _aes_cbc(loaded.raw, used_iv, message, encrypting=True), used_iv


def _aes_cbc(key: bytes, iv: bytes, data: bytes, *, encrypting: bool) -> bytes:
    """AES-CBC without padding; refusals in the device's order and words (mirage-crypto)."""
    prefix = "Encryption failed: " if encrypting else "Decryption failed: "
    if len(key) not in (16, 24, 32):
        raise _bad(f"{prefix}AES.of_secret: key length {len(key)}")
    if len(iv) != _AES_BLOCK:
        raise _bad(f"{prefix}CBC: IV length {len(iv)} not of block size")
    if len(data) % _AES_BLOCK:
        raise _bad(f"{prefix}CBC: argument length {len(data)} not of block size")
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.encryptor() if encrypting else cipher.decryptor()
    return op.update(data) + op.finalize()
