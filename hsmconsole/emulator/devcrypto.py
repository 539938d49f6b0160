"""The device's crypto primitives (reference §7): scrypt, AES-256-GCM records, derived store keys."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "DecryptError",
    "config_device_key",
    "decrypt",
    "encrypt",
    "passphrase_digest",
    "scrypt",
    "store_key",
]

NONCE_LEN = 12
TAG_LEN = 16
SALT_LEN = 16
# hashlib's default maxmem (32 MiB) is below what N=16384, r=8 needs (16 MiB + overhead per p run).
_SCRYPT_MAXMEM = 64 * 1024 * 1024


class DecryptError(Exception):
    """An AEAD record that is too short (`truncated`) or fails authentication."""

    def __init__(self, truncated: bool) -> None:
        super().__init__("truncated data" if truncated else "authentication failed")
        self.truncated = truncated


def scrypt(passphrase: str, salt: bytes) -> bytes:
    """The device's KDF for the unlock and backup keys: N=16384, r=8, p=16, 32 bytes (≈0.7 s)."""
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=16384, r=8, p=16, dklen=32, maxmem=_SCRYPT_MAXMEM
    )


def encrypt(key: bytes, adata: bytes, plaintext: bytes) -> bytes:
    """`nonce(12) ‖ ciphertext ‖ tag(16)` with a fresh random nonce."""
    nonce = os.urandom(NONCE_LEN)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, adata)


def decrypt(key: bytes, adata: bytes, data: bytes) -> bytes:
    # The device refuses anything not longer than nonce + tag (Crypto.decrypt: Insufficient_data).
    if len(data) <= NONCE_LEN + TAG_LEN:
        raise DecryptError(truncated=True)
    try:
        return AESGCM(key).decrypt(data[:NONCE_LEN], data[NONCE_LEN:], adata)
    except InvalidTag:
        raise DecryptError(truncated=False) from None


def store_key(domain_key: bytes, store: str) -> bytes:
    """SHA-256(DK ‖ name) for `auth_store`, `key_store`, `namespace_store`, `config_store`."""
    return hashlib.sha256(domain_key + store.encode("ascii")).digest()


def config_device_key(device_key: bytes) -> bytes:
    """The key of the early (pre-unlock) local config: SHA-256(device_key ‖ "early_config_store")."""
    return hashlib.sha256(device_key + b"early_config_store").digest()


def passphrase_digest(salt: bytes, passphrase: str) -> bytes:
    """Stored user passphrase digest: HMAC-SHA256(key=salt, msg=passphrase)."""
    return hmac.new(salt, passphrase.encode("utf-8"), hashlib.sha256).digest()
