"""Reading a private key file for import (PEM, PKCS#8, DER, PKCS#12, raw AES) into what the device takes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from hsmconsole.errors import InputError
from hsmconsole.inventory import KEY_KINDS, KeyType
from hsmconsole.secrets import Secret

_CURVES: dict[str, KeyType] = {
    "secp256r1": KeyType.EC_P256,
    "secp384r1": KeyType.EC_P384,
    "secp521r1": KeyType.EC_P521,
    "secp256k1": KeyType.EC_P256K1,
    "brainpoolP256r1": KeyType.BRAINPOOL_P256,
    "brainpoolP384r1": KeyType.BRAINPOOL_P384,
    "brainpoolP512r1": KeyType.BRAINPOOL_P512,
}


@dataclass(frozen=True)
class LoadedKey:
    """A private key ready to send: `material` is unencrypted PKCS#8 PEM, or the raw bytes of an
    AES key. It is a Secret: wipe it once sent."""

    type: KeyType
    bits: int
    material: Secret
    source: str  # "PEM", "DER", "PKCS#12", "raw AES key": for messages

    def describe(self) -> str:
        return f"{KEY_KINDS[self.type].title} {self.bits}-bit private key ({self.source})"


def _needs_passphrase(exc: Exception) -> bool:
    text = str(exc).lower()
    return "password" in text and ("not" in text or "was" in text or "encrypted" in text)


def _type_of(key: object) -> tuple[KeyType, int]:
    if isinstance(key, rsa.RSAPrivateKey):
        return KeyType.RSA, key.key_size
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return KeyType.CURVE25519, 255
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        return _CURVES[key.curve.name], key.curve.key_size
    name = getattr(getattr(key, "curve", None), "name", key.__class__.__name__)
    raise InputError(
        f"The device cannot hold this kind of key ({name}).",
        "It takes RSA, Ed25519, NIST P-256/384/521, secp256k1 and Brainpool keys.",
    )


def load_private_key(data: bytes, passphrase: Secret | None = None) -> LoadedKey:
    """Read a private key file's bytes. Raises InputError saying what is wrong (needs a
    passphrase, wrong passphrase, not a key, unsupported kind); never includes the key itself."""
    if len(data) in (16, 24, 32) and not data.lstrip().startswith(b"-----"):
        return LoadedKey(KeyType.GENERIC, len(data) * 8, Secret(data, "aes key"), "raw AES key")
    password = passphrase.reveal() if passphrase is not None else None
    key: object = None
    source = ""
    errors: list[Exception] = []

    def pem() -> object:
        return serialization.load_pem_private_key(data, password)

    def der() -> object:
        return serialization.load_der_private_key(data, password)

    def p12() -> object:
        return pkcs12.load_key_and_certificates(data, password)[0]

    loaders: list[tuple[str, Callable[[], object]]] = [("PEM", pem), ("DER", der), ("PKCS#12", p12)]
    if b"-----BEGIN" in data:
        loaders = loaders[:1]
    for name, load in loaders:
        try:
            key = load()
        except (ValueError, TypeError) as exc:
            errors.append(exc)
            continue
        source = name
        if key is not None:
            break
    if key is None:
        if any(_needs_passphrase(e) or isinstance(e, TypeError) for e in errors):
            if passphrase is None:
                raise InputError(
                    "This key file is protected by a passphrase.", "Type the file's passphrase and try again."
                )
            raise InputError("The passphrase does not open this key file.", "Check it and try again.")
        if b"CERTIFICATE" in data and b"PRIVATE KEY" not in data:
            raise InputError(
                "This file holds a certificate, not a private key.", "Choose the private key file."
            )
        raise InputError(
            "This file is not a private key the console can read.",
            "Use PEM (PKCS#8 or traditional), DER, PKCS#12, or a raw 16/24/32-byte AES key.",
        )
    key_type, bits = _type_of(key)
    pkcs8 = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return LoadedKey(key_type, bits, Secret(pkcs8, "private key"), source)
