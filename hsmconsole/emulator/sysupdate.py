"""The system update image header (reference §6.8, hsm.ml System.update), checked as the device reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hsmconsole.emulator.errors import ApiError

__all__ = ["UPDATE_HEADER", "UpdateImage", "parse_update"]

UPDATE_HEADER = b"_NETHSM_UPDATE_\x00"
_NUMBER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class UpdateImage:
    signature: bytes
    release_notes: str
    version: tuple[int, int]
    blocks: int


def _version(text: str) -> tuple[int, int]:
    major, sep, minor = text.partition(".")
    if not sep:
        raise ApiError(400, "Failed to parse version: no separator (.). A valid version would be '4.2'.")
    if not _NUMBER.fullmatch(major) or not _NUMBER.fullmatch(minor):
        raise ApiError(400, "Failed to parse version: Not a number. A valid version would be '4.2'.")
    return int(major), int(minor)


def parse_update(image: bytes) -> UpdateImage:
    """Header, 3-byte-length fields (signature, notes, version), 4-byte block count, then exactly
    512 × blocks bytes of image. Refusals are ApiError(400) with the device's messages."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if len(image) - pos < n:
            raise ApiError(400, "Unexpected end of data")
        out = image[pos : pos + n]
        pos += n
        return out

    def field() -> bytes:
        return take(int.from_bytes(take(3), "big"))

    if take(len(UPDATE_HEADER)) != UPDATE_HEADER:
        raise ApiError(400, "Invalid update file")
    signature = field()
    notes = field().decode("utf-8", errors="replace")
    version = _version(field().decode("utf-8", errors="replace"))
    blocks = int.from_bytes(take(4), "big")
    if len(image) - pos != 512 * blocks:
        raise ApiError(400, "unexpected end of data")
    return UpdateImage(signature, notes, version, blocks)
