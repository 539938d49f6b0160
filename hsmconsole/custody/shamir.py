"""Shamir combining through pyshamir (never our own field arithmetic), and bare (raw base64) shares."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyshamir

from hsmconsole.custody.sharecode import ShareFormatError
from hsmconsole.errors import InputError, IntegrityError
from hsmconsole.secrets import Secret

RAW_SHARE_WARNING = (
    "raw base64 shares carry no checksum, set id or commitment: a typo or a share of another "
    "split gives a wrong secret without any error; the threshold must come from you"
)


@dataclass(frozen=True, eq=False)
class RawShare:
    """A bare pyshamir/Vault share (base64 of the payload): no checksum, no metadata."""

    payload: Secret = field(repr=False)
    source: str = ""

    @property
    def x(self) -> int:
        return self.payload.reveal()[-1]

    @property
    def name(self) -> str:
        return f"raw share ({self.source})" if self.source else "raw share"


def decode_raw_share(text: str | Secret, *, source: str = "") -> RawShare:
    """Accept a share as pyshamir or Vault print it: base64 of the part bytes. See RAW_SHARE_WARNING."""
    raw = (text.reveal_str() if isinstance(text, Secret) else text).strip()
    name = f"raw share from {source}" if source else "the raw share"
    try:
        data = base64.b64decode(raw.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ShareFormatError(f"{name} is not valid base64", "Check the share text.") from None
    if len(data) < 2 or data[-1] == 0:
        raise ShareFormatError(f"{name} is too short or malformed", "Check the share text.")
    return RawShare(Secret(data, "share"), source)


def combine_raw_shares(shares: Sequence[RawShare], *, threshold: int) -> Secret:
    """Combine bare shares. Unverifiable: see RAW_SHARE_WARNING. Spare shares are cross-checked."""
    if threshold < 2:
        raise InputError("a threshold below 2 is not a Shamir split", "Give the real threshold.")
    if len(shares) < threshold:
        raise InputError(
            f"only {len(shares)} raw shares, but the threshold is {threshold}",
            f"Bring {threshold - len(shares)} more share(s).",
        )
    first = shares[0]
    seen: dict[int, RawShare] = {}
    for s in shares:
        if len(s.payload) != len(first.payload):
            raise InputError(
                f"{s.name} has a different length from {first.name}",
                "Raw shares of one split all have the same length: it is from another split.",
            )
        if s.x in seen:
            raise InputError(
                f"{s.name} has the same x coordinate as {seen[s.x].name}",
                "It is the same share twice, or a share of another split.",
            )
        seen[s.x] = s
    base = list(shares[:threshold])
    secret = recover([p.payload.reveal() for p in base])
    # A spare share must agree with the others: swapping it in for one of the base shares has to
    # give the same secret. (pyshamir has no "evaluate at x", so we compare secrets.)
    for spare in shares[threshold:]:
        swapped = [p.payload.reveal() for p in base[1:]] + [spare.payload.reveal()]
        if not hmac.compare_digest(recover(swapped), secret):
            raise IntegrityError(
                f"{spare.name} does not agree with the first {threshold} shares",
                "One of the shares is mistyped or from another split; raw shares cannot say which.",
            )
    return Secret(secret, "secret")


def recover(payloads: Sequence[bytes]) -> bytes:
    """The secret from share payloads (y bytes followed by the x byte), by pyshamir.combine.

    The splitting and combining arithmetic is pyshamir's: we do not keep a second implementation
    of the field, however much faster one would be (16-of-16 takes about 0.7 s, 2-of-3 30 ms).
    """
    parts = [bytearray(p) for p in payloads]
    try:
        return bytes(pyshamir.combine(parts))
    finally:
        for part in parts:
            part[:] = bytes(len(part))
