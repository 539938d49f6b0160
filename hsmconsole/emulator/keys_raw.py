"""The device's key operations that `cryptography` has no primitive for: raw RSA, PKCS#1 signing
of caller-built DigestInfo, RSA keys from primes with the device's checks, and BIP340.

Why these are here and not in `cryptography` calls:
* RSA_Decryption_RAW and the PKCS1 sign mode ("pad the given bytes with EMSA-PKCS1-v1_5 type 1
  as given", PKCS#11 CKM_RSA_PKCS) need the bare RSA private operation. `cryptography` exposes
  neither unpadded decryption nor PKCS#1 v1.5 signing without adding its own DigestInfo. Where
  the caller's bytes are DigestInfo‖hash of a hash `cryptography` knows, the signature is made by
  `cryptography` (PKCS#1 v1.5 signatures are deterministic, so the result is the same bytes).
  Otherwise the EMSA-PKCS1-v1_5 block (RFC 8017 §9.2 steps 3–5: bytes laid out, no arithmetic) is
  built here and the private operation is PyCryptodome's: RsaKey._decrypt_to_bytes, the blinded CRT
  exponentiation (constant-time native code) that its own PKCS#1 v1.5, PSS and OAEP modules call.
  PyCryptodome has no public raw operation, so that one underscore name is used, pinned by the
  version range in pyproject.toml and by tests; the result is checked with the public exponent
  against faults, as PyCryptodome's signers do.
* BIP340 Schnorr signatures come from libsecp256k1 through `coincurve` (optional: without it the
  mode answers 400). Messages of any length are signed, as on the device.
"""

from __future__ import annotations

import functools
import importlib
import math
import secrets
from types import ModuleType
from typing import Final

from Crypto.PublicKey import RSA
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from hsmconsole.emulator.errors import ApiError

# RFC 8017 §9.2 note 1: DER DigestInfo prefixes (the six hashes mirage-crypto knows).
_DIGEST_INFO: Final[tuple[tuple[bytes, hashes.HashAlgorithm], ...]] = (
    (bytes.fromhex("3020300c06082a864886f70d020505000410"), hashes.MD5()),  # noqa: S303
    (bytes.fromhex("3021300906052b0e03021a05000414"), hashes.SHA1()),  # noqa: S303
    (bytes.fromhex("302d300d06096086480165030402040500041c"), hashes.SHA224()),
    (bytes.fromhex("3031300d060960864801650304020105000420"), hashes.SHA256()),
    (bytes.fromhex("3041300d060960864801650304020205000430"), hashes.SHA384()),
    (bytes.fromhex("3051300d060960864801650304020305000440"), hashes.SHA512()),
)

# mirage-crypto's smallest modulus (PKCS#1 needs room for its header).
_MIN_MODULUS_BITS: Final = 8 * 12 - 7
# Larger moduli than OpenSSL handles would only be a way to make the emulator spin.
_MAX_MODULUS_BITS: Final = 16384
_BIP340_EXTRAPARAMS_MAGIC: Final = bytes((0xDA, 0x6F, 0xB3, 0x8C))


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def check_rsa_size(bits: int) -> None:
    if bits > _MAX_MODULUS_BITS:
        raise _bad("invalid modulus")


def rsa_from_primes(p: int, q: int, e: int) -> rsa.RSAPrivateKey:
    """The private key from p, q, e with mirage-crypto's checks and words (priv_of_primes).
    Primality is checked by OpenSSL when `cryptography` builds the key; its answer does not say
    which prime failed, hence one message for both there."""
    if p <= 0 or p % 2 == 0:
        raise _bad("invalid prime p")
    if q <= 0 or q % 2 == 0:
        raise _bad("invalid prime q")
    if p == q:
        raise _bad("p and q are the same prime")
    if math.gcd(e, p - 1) != 1 or math.gcd(e, q - 1) != 1:
        raise _bad("e is not coprime of p and q")
    if e < 2:
        raise _bad("exponent e is not a pseudoprime")
    n = p * q
    if not _MIN_MODULUS_BITS <= n.bit_length() <= _MAX_MODULUS_BITS:
        raise _bad("invalid modulus")
    if not 1 < e < n:
        raise _bad("invalid exponent")
    d = rsa.rsa_recover_private_exponent(e, p, q)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, n),
    )
    try:
        return numbers.private_key()
    except (ValueError, UnsupportedAlgorithm):
        raise _bad("invalid prime p or q") from None


def _modulus_bytes(key: rsa.RSAPrivateKey) -> int:
    return (key.key_size + 7) // 8


@functools.lru_cache(maxsize=256)
def _pycryptodome_key(key: rsa.RSAPrivateKey) -> RSA.RsaKey:
    # Keyed by the cryptography object, which keys.py already caches per stored PEM: building the
    # PyCryptodome key (CRT values) costs about a third of one private operation.
    nums = key.private_numbers()
    components = (nums.public_numbers.n, nums.public_numbers.e, nums.d, nums.p, nums.q)
    return RSA.construct(components, consistency_check=False)  # OpenSSL validated it when loading


def _private_op(key: rsa.RSAPrivateKey, c: int) -> bytes:
    """c^d mod n for 2 <= c < n, as a modulus-length block, by PyCryptodome (see module docstring)."""
    raw = _pycryptodome_key(key)
    block: bytes = raw._decrypt_to_bytes(c)  # type: ignore[no-untyped-call]
    if raw._encrypt(int.from_bytes(block, "big")) != c:  # type: ignore[no-untyped-call]
        raise ApiError(500, "RSA private operation failed its check.")
    return block


def rsa_decrypt_raw(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """RSA_Decryption_RAW: the full modulus-length block."""
    c = int.from_bytes(data, "big")
    n = key.public_key().public_numbers().n
    if not 2 <= c < n:  # mirage-crypto: Insufficient_key (c >= n) / invalid argument (c < 2)
        raise _bad("Decryption failure")
    return _private_op(key, c)


def rsa_sign_pkcs1_as_given(key: rsa.RSAPrivateKey, t: bytes) -> bytes:
    """PKCS1 sign mode: EMSA-PKCS1-v1_5 over the caller's bytes T (normally DigestInfo‖hash)."""
    k = _modulus_bytes(key)
    if len(t) > k - 11:  # RFC 8017 §9.2 step 3: at least 8 bytes of 0xff padding
        raise _bad("Signing failure: RSA key too short.")
    for prefix, digest in _DIGEST_INFO:
        if t.startswith(prefix) and len(t) == len(prefix) + digest.digest_size:
            try:
                return key.sign(t[len(prefix) :], padding.PKCS1v15(), utils.Prehashed(digest))
            except (ValueError, UnsupportedAlgorithm):
                break  # fall back to the explicit encoding below
    em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t  # RFC 8017 §9.2 steps 4–5
    m = int.from_bytes(em, "big")
    if m >= key.public_key().public_numbers().n:
        raise _bad("Signing failure: RSA key too short.")
    return _private_op(key, m)


def _coincurve() -> tuple[ModuleType, ModuleType]:
    try:
        return importlib.import_module("coincurve"), importlib.import_module("coincurve._libsecp256k1")
    except ImportError:
        raise _bad("BIP340 signing is not supported by this emulator (coincurve is not installed).") from None


def bip340_sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """BIP340 Schnorr signature (64 bytes r‖s) over the message, with fresh auxiliary randomness."""
    coincurve, binding = _coincurve()
    secret = key.private_numbers().private_value.to_bytes(32, "big")
    signer = coincurve.PrivateKey(secret)
    if len(message) == 32:
        return bytes(signer.sign_schnorr(message))
    # coincurve's API stops at 32-byte messages; libsecp256k1's sign_custom (same library) takes
    # any length, as BIP340 and the device do.
    ffi, lib = binding.ffi, binding.lib
    ctx = signer.context.ctx
    keypair = ffi.new("secp256k1_keypair *")
    if not lib.secp256k1_keypair_create(ctx, keypair, secret):
        raise _bad("Signing failure: invalid key")
    aux = ffi.new("unsigned char[32]", secrets.token_bytes(32))
    params = ffi.new("secp256k1_schnorrsig_extraparams *")
    params.magic = _BIP340_EXTRAPARAMS_MAGIC
    params.ndata = aux
    signature = ffi.new("unsigned char[64]")
    if not lib.secp256k1_schnorrsig_sign_custom(ctx, signature, message, len(message), keypair, params):
        raise _bad("Signing failure")
    xonly = signer.public_key_xonly.public_key
    if not lib.secp256k1_schnorrsig_verify(ctx, signature, message, len(message), xonly):
        raise ApiError(500, "BIP340 signature failed its check.")
    return bytes(ffi.buffer(signature, 64))
