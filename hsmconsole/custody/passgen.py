"""Generate passphrases for the NetHSM: 256+ bits from the OS CSPRNG, in an easy-to-type alphabet."""

from __future__ import annotations

import math
import secrets

from hsmconsole.custody.sharecode import TEXT_ALPHABET
from hsmconsole.secrets import Secret

# Lower-case Crockford base32: digits and letters without i, l, o, u. No look-alikes (0/o, 1/l/i),
# no shell-special or layout-dependent punctuation, no shift key. It is also the alphabet shares
# pack at five bits a character, which keeps shares of generated passphrases short.
ALPHABET = TEXT_ALPHABET
BITS_PER_CHAR = math.log2(len(ALPHABET))  # exactly 5
MIN_BITS = 256
# The NetHSM accepts passphrases of 10 to 200 bytes (reference §5.2).
NETHSM_MIN_LEN = 10
NETHSM_MAX_LEN = 200


def passphrase_length(bits: int) -> int:
    """How many characters give at least `bits` bits of entropy."""
    return math.ceil(bits / BITS_PER_CHAR)


def generate_passphrase(bits: int = MIN_BITS, *, label: str = "passphrase") -> Secret:
    """A fresh passphrase with at least `bits` (>= 256) bits of entropy; 52 characters by default."""
    if bits < MIN_BITS:
        raise ValueError(f"refusing to generate a passphrase with fewer than {MIN_BITS} bits")
    length = passphrase_length(bits)
    if length > NETHSM_MAX_LEN:
        raise ValueError(f"{bits} bits need {length} characters; the NetHSM takes at most 200")
    buf = bytearray(ord(secrets.choice(ALPHABET)) for _ in range(length))
    try:
        return Secret(buf, label)
    finally:
        buf[:] = bytes(length)


def fits_nethsm(secret: Secret) -> bool:
    """Whether the NetHSM would accept `secret` as a passphrase (10..200 bytes of UTF-8)."""
    if not NETHSM_MIN_LEN <= len(secret) <= NETHSM_MAX_LEN:
        return False
    try:
        secret.reveal().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
