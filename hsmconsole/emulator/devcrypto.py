"""The device's crypto primitives (reference §7): scrypt, AES-256-GCM records, derived store keys."""

from __future__ import annotations

import hashlib
import hmac

# scrypt and the AES-GCM record format are the backup format's too: one definition, in the core.
from hsmconsole.backup.format import (
    NONCE_LEN,
    SALT_LEN,
    TAG_LEN,
    DecryptError,
    decrypt,
    encrypt,
    scrypt,
)

__all__ = [
    "NONCE_LEN",
    "SALT_LEN",
    "TAG_LEN",
    "DecryptError",
    "config_device_key",
    "decrypt",
    "encrypt",
    "passphrase_digest",
    "scrypt",
    "store_key",
]

def store_key(domain_key: bytes, store: str) -> bytes:
    """SHA-256(DK ‖ name) for `auth_store`, `key_store`, `namespace_store`, `config_store`."""
    return hashlib.sha256(domain_key + store.encode("ascii")).digest()


def config_device_key(device_key: bytes) -> bytes:
    """The key of the early (pre-unlock) local config: SHA-256(device_key ‖ "early_config_store")."""
    return hashlib.sha256(device_key + b"early_config_store").digest()


def passphrase_digest(salt: bytes, passphrase: str) -> bytes:
    """Stored user passphrase digest: HMAC-SHA256(key=salt, msg=passphrase)."""
    return hmac.new(salt, passphrase.encode("utf-8"), hashlib.sha256).digest()
