"""Shamir over GF(256) as pyshamir does it: fast interpolation, and bare (raw base64) shares."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from hsmconsole.errors import InputError, IntegrityError
from hsmconsole.secrets import Secret
from hsmconsole.sharecode import ShareFormatError

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
    points = [(s.x, s.payload.reveal()[:-1]) for s in shares]
    base = points[:threshold]
    for s, (x, ys) in zip(shares[threshold:], points[threshold:], strict=True):
        if not hmac.compare_digest(interpolate(base, x), ys):
            raise IntegrityError(
                f"{s.name} does not agree with the first {threshold} shares",
                "One of the shares is mistyped or from another split; raw shares cannot say which.",
            )
    return Secret(interpolate(base, 0), "secret")


# GF(256) with the AES polynomial, as pyshamir uses; log tables make combining 16 shares take
# milliseconds instead of pyshamir.combine's second. Tests check both agree.
_EXP = [0] * 512
_LOG = [0] * 256
_v = 1
for _i in range(255):
    _EXP[_i] = _v
    _LOG[_v] = _i
    _v ^= (_v << 1) ^ (0x11B if _v & 0x80 else 0)  # multiply by the generator 3
    _v &= 0xFF
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _div(a: int, b: int) -> int:
    if a == 0:
        return 0
    return _EXP[_LOG[a] + 255 - _LOG[b]]


def interpolate(points: Sequence[tuple[int, bytes]], x: int) -> bytes:
    """Lagrange interpolation at `x`, byte by byte, of points with distinct non-zero x."""
    coeffs = []
    for i, (xi, _) in enumerate(points):
        c = 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                c = _mul(c, _div(x ^ xj, xi ^ xj))
        coeffs.append(c)
    out = bytearray(len(points[0][1]))
    for c, (_, ys) in zip(coeffs, points, strict=True):
        if c:
            lc = _LOG[c]
            for k, y in enumerate(ys):
                if y:
                    out[k] ^= _EXP[lc + _LOG[y]]
    return bytes(out)
