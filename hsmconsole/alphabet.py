"""The character set of shares and set ids (Crockford base32), shared by custody and the journal filter."""

from __future__ import annotations

# Crockford's base32: digits and upper-case letters without I, L, O, U. On input, case is ignored and
# the look-alikes O -> 0 and I, L -> 1 are read as the digits they resemble. It lives in the base
# because the journal's secret filter must recognise share-like text without importing custody.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

_LOOK_ALIKES = str.maketrans("OIL", "011")


def as_typed(text: str) -> str:
    """Text a person copied from paper, read as the alphabet: case, spaces and dashes ignored, and
    the look-alikes O -> 0, I and L -> 1. Quorum entry (the share decoder), the ceremony's
    confirmation and `shares combine --expect-set` all read typing this one way."""
    return "".join(c for c in text.upper() if c.isalnum()).translate(_LOOK_ALIKES)
