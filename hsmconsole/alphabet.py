"""The character set of shares and set ids (Crockford base32), shared by custody and the journal filter."""

from __future__ import annotations

# Crockford's base32: digits and upper-case letters without I, L, O, U. On input, case is ignored and
# the look-alikes O -> 0 and I, L -> 1 are read as the digits they resemble. It lives in the base
# because the journal's secret filter must recognise share-like text without importing custody.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
