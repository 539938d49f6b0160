"""Key cryptography as the NetHSM does it: generate, import, public parts, CSR, sign, decrypt, encrypt.

CONTRACT for app.py. Pure functions over the `priv` object of a stored key record
(reference §8.1): {"PEM": "<PKCS#8 PEM>"} for asymmetric keys, {"raw": "<base64>"} for Generic.
Every refusal raises ApiError(400, <device message>) (reference §5.3, §6.5, §6.6).
Key types and mechanisms are the API's strings ("RSA", "EC_P256", "EdDSA_Signature", ...).
"""

from __future__ import annotations

from typing import Any

from hsmconsole.emulator.errors import ApiError

__all__ = ["ApiError"]

# Declaration order, used to emit mechanisms (deduplicated) in GET /keys/{id}.
MECHANISM_ORDER: tuple[str, ...] = ()  # CONTRACT

KEY_TYPES: tuple[str, ...] = ()  # CONTRACT: the API's key types (EC_P224 parsed but unusable)


def check_generate(key_type: str, mechanisms: list[str], length: int | None) -> None:
    """The generate checks in the device's order: RSA/Generic length, mechanism matches type,
    non-empty mechanisms (reference §5.3)."""
    raise NotImplementedError  # CONTRACT


def generate(key_type: str, length: int | None) -> dict[str, Any]:
    """A new private key → priv object."""
    raise NotImplementedError  # CONTRACT


def import_json(key_type: str, private: dict[str, Any]) -> dict[str, Any]:
    """From the JSON import body's "private" object (primes for RSA, data for EC/Curve25519/Generic)."""
    raise NotImplementedError  # CONTRACT


def import_pem(pem: bytes) -> tuple[str, dict[str, Any]]:
    """From a PEM private key (PRIVATE KEY / RSA PRIVATE KEY / EC PRIVATE KEY) → (key type, priv)."""
    raise NotImplementedError  # CONTRACT


def key_type(priv: dict[str, Any]) -> str:
    """The API key type of a stored priv object."""
    raise NotImplementedError  # CONTRACT


def public_json(priv: dict[str, Any]) -> dict[str, Any] | None:
    """GET /keys/{id} "public": RSA modulus/publicExponent, EC uncompressed point, Ed25519 raw;
    None for Generic (field omitted)."""
    raise NotImplementedError  # CONTRACT


def public_pem(priv: dict[str, Any]) -> str:
    """SPKI PEM; Generic → ApiError(400, "Generic keys have no public key")."""
    raise NotImplementedError  # CONTRACT


def csr_pem(priv: dict[str, Any], dn: dict[str, Any]) -> str:
    """A PKCS#10 CSR signed by the key, subject from the DN JSON (reference §6.7)."""
    raise NotImplementedError  # CONTRACT


def sign(priv: dict[str, Any], mechanisms: list[str], mode: str, message: bytes) -> bytes:
    raise NotImplementedError  # CONTRACT


def decrypt(priv: dict[str, Any], mechanisms: list[str], mode: str, data: bytes, iv: bytes | None) -> bytes:
    raise NotImplementedError  # CONTRACT


def encrypt(
    priv: dict[str, Any], mechanisms: list[str], mode: str, message: bytes, iv: bytes | None
) -> tuple[bytes, bytes]:
    """→ (ciphertext, iv). AES-CBC without padding; random IV if none given."""
    raise NotImplementedError  # CONTRACT


def generate_tls_key(key_type: str, length: int | None) -> bytes:
    """/config/tls/generate: a PKCS#8 PEM private key of an allowed TLS type (reference §5.3)."""
    raise NotImplementedError  # CONTRACT


def self_signed_certificate_der(private_key_pem: bytes, common_name: str = "keyfender") -> bytes:
    """Self-signed cert valid 1970-01-01 … 9999-12-31, as the device makes at first boot."""
    raise NotImplementedError  # CONTRACT
