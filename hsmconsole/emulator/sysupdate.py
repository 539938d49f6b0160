"""System update images (reference §6.8, hsm.ml System.update): the header as the device reads it, and
the RSA PKCS#1 v1.5 SHA-256 signature checked against a trusted update key."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from hsmconsole.emulator.errors import ApiError

__all__ = [
    "PRESET_DESCRIPTIONS",
    "UPDATE_HEADER",
    "UPDATE_KEY_PRESETS",
    "UpdateImage",
    "build_update",
    "is_upgrade",
    "load_update_key",
    "parse_update",
    "parse_version",
    "preset_update_key",
    "signature_valid",
]

UPDATE_HEADER = b"_NETHSM_UPDATE_\x00"
BLOCK = 512
# At most nine digits: the version is kept in hardware.json, whose reader allows no more (store.py
# _VERSION_RE); the device's OCaml int allows more, but a longer number would break a restart here.
_NUMBER = re.compile(r"-?[0-9]{1,9}")
_FIELD_MAX = (1 << 24) - 1


@dataclass(frozen=True)
class UpdateImage:
    signature: bytes
    release_notes: str
    version: tuple[int, int]
    blocks: int
    signed_from: int  # the signature covers the file from here (notes field) to the end

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


def parse_version(text: str) -> tuple[int, int]:
    """`major.minor` as the device reads it (version_of_string), with its messages."""
    major, sep, minor = text.partition(".")
    if not sep:
        raise ApiError(400, "Failed to parse version: no separator (.). A valid version would be '4.2'.")
    if not _NUMBER.fullmatch(major) or not _NUMBER.fullmatch(minor):
        raise ApiError(400, "Failed to parse version: Not a number. A valid version would be '4.2'.")
    return int(major), int(minor)


def is_upgrade(current: tuple[int, int], update: tuple[int, int]) -> bool:
    # The device compares the major numbers only: 5.3 → 5.1 is allowed, 5.x → 4.y is not.
    return current[0] <= update[0]


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
    signed_from = pos
    notes = field().decode("utf-8", errors="replace")
    version = parse_version(field().decode("utf-8", errors="replace"))
    blocks = int.from_bytes(take(4), "big")
    if len(image) - pos != BLOCK * blocks:
        raise ApiError(400, "unexpected end of data")
    return UpdateImage(signature, notes, version, blocks, signed_from)


def signature_valid(key: rsa.RSAPublicKey | None, image: bytes, update: UpdateImage) -> bool:
    """RSA PKCS#1 v1.5 over SHA-256 of notes field ‖ version field ‖ block count ‖ image, by `key`.
    Without a key nothing is trusted, as on a device whose vendor key signed nothing here."""
    if key is None:
        return False
    # Hashed here, over a view, so a large image is not copied; the RSA check is cryptography's.
    digest = hashlib.sha256(memoryview(image)[update.signed_from :]).digest()
    try:
        key.verify(update.signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# Named --update-key presets: public keys shipped in hsmconsole/emulator/update_keys/ (never a
# private key). "testing" is Nitrokey's published test update key (nethsm src/keyfender/update.pem),
# which the testing container trusts, so the emulator accepts the update images made for it.
UPDATE_KEY_PRESETS = {"testing": "testing.pem"}
PRESET_DESCRIPTIONS = {"testing": "Nitrokey's public test update key (as the NetHSM testing container)"}


def preset_update_key(name: str) -> rsa.RSAPublicKey:
    """The shipped public key of preset `name`; KeyError for an unknown name."""
    filename = UPDATE_KEY_PRESETS[name]
    pem = resources.files("hsmconsole.emulator").joinpath("update_keys", filename).read_bytes()
    return load_update_key(pem)


def load_update_key(pem: bytes) -> rsa.RSAPublicKey:
    """The update-signing public key from PEM (SubjectPublicKeyInfo); ValueError if it is not RSA."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key (the device checks RSA PKCS#1 v1.5 signatures)")
    return key


def build_update(key: rsa.RSAPrivateKey, release_notes: str, version: str, image: bytes) -> bytes:
    """An update file as the vendor's signing tool lays it out, signed with `key` (to try the update
    flow against an emulator started with the matching --update-key). `image` is whole 512-byte blocks."""
    if len(image) % BLOCK:
        raise ValueError("the image must be a whole number of 512-byte blocks")

    def field(data: bytes) -> bytes:
        if len(data) > _FIELD_MAX:
            raise ValueError("field longer than 16 MiB")
        return len(data).to_bytes(3, "big") + data

    blocks = (len(image) // BLOCK).to_bytes(4, "big")
    signed = field(release_notes.encode()) + field(version.encode()) + blocks + image
    signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return UPDATE_HEADER + field(signature) + signed
