"""The "test" action: use a key as an operator on the device, check the result locally with `cryptography`."""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from hsmconsole.device import keys as dev_keys
from hsmconsole.device.client import Caller, Credentials
from hsmconsole.errors import InputError
from hsmconsole.inventory import KeyInfo, KeyMechanism, KeyTestKind, KeyTestResult, KeyType

M = KeyMechanism
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "MD5": hashes.MD5,
    "SHA1": hashes.SHA1,
    "SHA224": hashes.SHA224,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
_ECDSA_HASH: dict[KeyType, type[hashes.HashAlgorithm]] = {
    KeyType.EC_P256: hashes.SHA256,
    KeyType.EC_P256K1: hashes.SHA256,
    KeyType.BRAINPOOL_P256: hashes.SHA256,
    KeyType.EC_P384: hashes.SHA384,
    KeyType.BRAINPOOL_P384: hashes.SHA384,
    KeyType.EC_P521: hashes.SHA512,
    KeyType.BRAINPOOL_P512: hashes.SHA512,
}
# DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1): the device pads what it is given, as is.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
# Preferred signature mechanisms first; decryption and AES are tried when a key cannot sign.
_SIGN_ORDER = (
    M.EDDSA_SIGNATURE,
    M.ECDSA_SIGNATURE,
    M.RSA_SIGNATURE_PSS_SHA256,
    M.RSA_SIGNATURE_PKCS1,
    M.RSA_SIGNATURE_PSS_SHA512,
    M.RSA_SIGNATURE_PSS_SHA384,
    M.RSA_SIGNATURE_PSS_SHA224,
    M.RSA_SIGNATURE_PSS_SHA1,
    M.RSA_SIGNATURE_PSS_MD5,
    M.BIP340_SIGNATURE,
)
_OAEP = {m: m.value.rsplit("_", 1)[1] for m in KeyMechanism if "OAEP" in m.value}


def exercise_key(client: Caller, operator: Credentials, key: KeyInfo) -> KeyTestResult:
    """Sign a random message with the key as `operator` and verify the signature locally; for a
    key that only decrypts, encrypt locally and decrypt on the device; for AES, a round trip."""
    mechs = set(key.mechanisms)
    for mech in _SIGN_ORDER:
        if mech in mechs:
            return _sign_test(client, operator, key, mech)
    if key.type is KeyType.GENERIC:
        return _aes_test(client, operator, key)
    for mech, hash_name in _OAEP.items():
        if mech in mechs:
            return _rsa_decrypt_test(client, operator, key, f"OAEP_{hash_name}", hash_name)
    if M.RSA_DECRYPTION_PKCS1 in mechs:
        return _rsa_decrypt_test(client, operator, key, "PKCS1", "")
    raise InputError(f"Key {key.key_id} has no mechanism the test can use.", "")


def _public(client: Caller, operator: Credentials, key: KeyInfo) -> object:
    pem = key.public_pem or dev_keys.public_key_pem(client, operator, key.key_id)
    return serialization.load_pem_public_key(pem.encode())


def _sign_test(client: Caller, operator: Credentials, key: KeyInfo, mech: KeyMechanism) -> KeyTestResult:
    message = os.urandom(32)
    pub = _public(client, operator, key)
    mode: str
    try:
        if mech is M.EDDSA_SIGNATURE:
            mode = "EdDSA"
            sig = dev_keys.sign(client, operator, key.key_id, mode, message)
            assert isinstance(pub, ed25519.Ed25519PublicKey)
            pub.verify(sig, message)
        elif mech is M.ECDSA_SIGNATURE:
            mode = "ECDSA"
            algo = _ECDSA_HASH[key.type]()
            digest = _digest(algo, message)
            sig = dev_keys.sign(client, operator, key.key_id, mode, digest)
            assert isinstance(pub, ec.EllipticCurvePublicKey)
            pub.verify(sig, digest, ec.ECDSA(Prehashed(algo)))
        elif mech is M.RSA_SIGNATURE_PKCS1:
            mode = "PKCS1"
            sig = dev_keys.sign(
                client, operator, key.key_id, mode, _SHA256_DIGEST_INFO + _digest(hashes.SHA256(), message)
            )
            assert isinstance(pub, rsa.RSAPublicKey)
            pub.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
        elif mech is M.BIP340_SIGNATURE:
            mode = "BIP340"
            sig = dev_keys.sign(client, operator, key.key_id, mode, message)
            return KeyTestResult(
                key.key_id,
                KeyTestKind.SIGN,
                mode,
                len(sig) == 64,
                f"signed a random 32-byte message ({len(sig)}-byte signature); BIP340 signatures "
                "cannot be verified with the local crypto library, so only the signing was tested",
            )
        else:
            hash_name = mech.value.rsplit("_", 1)[1]
            mode = f"PSS_{hash_name}"
            algo = _HASHES[hash_name]()
            digest = _digest(algo, message)
            sig = dev_keys.sign(client, operator, key.key_id, mode, digest)
            assert isinstance(pub, rsa.RSAPublicKey)
            pss = padding.PSS(padding.MGF1(algo), salt_length=algo.digest_size)
            pub.verify(sig, digest, pss, Prehashed(algo))
    except InvalidSignature:
        return KeyTestResult(
            key.key_id,
            KeyTestKind.SIGN,
            mode,
            False,
            "the device signed, but the signature does NOT verify with the key's public key",
        )
    return KeyTestResult(
        key.key_id,
        KeyTestKind.SIGN,
        mode,
        True,
        f"signed a random message on the device ({mode}); the signature verifies here",
    )


def _digest(algo: hashes.HashAlgorithm, message: bytes) -> bytes:
    h = hashes.Hash(algo)
    h.update(message)
    return h.finalize()


def _aes_test(client: Caller, operator: Credentials, key: KeyInfo) -> KeyTestResult:
    if not {M.AES_ENCRYPTION_CBC, M.AES_DECRYPTION_CBC} <= set(key.mechanisms):
        raise InputError(
            f"Key {key.key_id} cannot both encrypt and decrypt, so a round trip cannot be tested.",
            "A key with only one AES mechanism can be checked by the party that holds the other half.",
        )
    plain = os.urandom(32)
    cipher, iv = dev_keys.encrypt_aes(client, operator, key.key_id, plain)
    back = dev_keys.decrypt(client, operator, key.key_id, "AES_CBC", cipher, iv)
    ok = hmac.compare_digest(back.reveal(), plain) and cipher != plain
    back.wipe()
    detail = (
        "encrypted and decrypted 32 random bytes on the device; they came back unchanged"
        if ok
        else ("the round trip did NOT return the original bytes")
    )
    return KeyTestResult(key.key_id, KeyTestKind.AES_ROUND_TRIP, "AES_CBC", ok, detail)


def _rsa_decrypt_test(
    client: Caller, operator: Credentials, key: KeyInfo, mode: str, hash_name: str
) -> KeyTestResult:
    pub = _public(client, operator, key)
    assert isinstance(pub, rsa.RSAPublicKey)
    plain = os.urandom(16)
    if hash_name:
        algo = _HASHES[hash_name]()
        cipher = pub.encrypt(plain, padding.OAEP(padding.MGF1(algo), algo, None))
    else:
        cipher = pub.encrypt(plain, padding.PKCS1v15())
    back = dev_keys.decrypt(client, operator, key.key_id, mode, cipher)
    ok = hmac.compare_digest(back.reveal(), plain)
    back.wipe()
    detail = f"encrypted 16 random bytes here, the device decrypted them ({mode})" + (
        "; they match" if ok else "; they do NOT match"
    )
    return KeyTestResult(key.key_id, KeyTestKind.DECRYPT, mode, ok, detail)
