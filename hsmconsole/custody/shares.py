"""Custodian shares: split a Secret with pyshamir into checked, committed shares and combine them safely."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from hsmconsole.custody.shamir import (
    RAW_SHARE_WARNING,
    RawShare,
    combine_raw_shares,
    decode_raw_share,
)
from hsmconsole.custody.sharecode import (
    ALPHABET,
    PREFIX,
    SEPARATORS,
    TEXT_ALPHABET,
    ShareFormatError,
    body_groups,
    decode_text,
    encode_text,
    looks_like_share,
    starts_like_share,
)
from hsmconsole.errors import InputError
from hsmconsole.secrets import Secret

MAX_SHARES = 255  # pyshamir's limit: x coordinates are single non-zero bytes
MAX_SECRET = 255  # the secret length is one byte in the header
MAX_LABEL = 32
COMMITMENT_LEN = 8
CHECK_LEN = 4
SET_ID_LEN = 5  # bytes; 8 characters of the alphabet
_COMMIT_DOMAIN = b"hsmconsole share commitment v1\x00"
_CHECK_DOMAIN = PREFIX.encode("ascii")
_FINGERPRINT_DOMAIN = b"hsmconsole share fingerprint v1\x00"
_LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}")
SET_ID_RE = re.compile(f"[{ALPHABET}]{{8}}")

class SecretKind(enum.Enum):
    """Which secret a set of shares protects (the header stores the listed code)."""

    UNLOCK = "unlock"
    ADMIN = "admin"
    BACKUP = "backup"
    CUSTOM = "custom"


_KIND_CODES = {SecretKind.UNLOCK: 0, SecretKind.ADMIN: 1, SecretKind.BACKUP: 2, SecretKind.CUSTOM: 3}
_KINDS_BY_CODE = {v: k for k, v in _KIND_CODES.items()}


class PayloadEncoding(enum.Enum):
    """How the secret was turned into the bytes pyshamir split."""

    RAW = 0  # the secret's bytes as they are
    TEXT = 1  # a lower-case base32 passphrase, packed five bits a character


@dataclass(frozen=True)
class SetRef:
    """Names one generation of one set: what a ceremony or rotation expects to combine."""

    set_id: str
    generation: int


@dataclass(frozen=True)
class ShareSet:
    """Everything the shares of one split have in common. Public: reveals nothing about the secret."""

    set_id: str
    generation: int
    kind: SecretKind
    label: str
    threshold: int
    count: int
    encoding: PayloadEncoding
    secret_length: int
    commitment: bytes

    @property
    def ref(self) -> SetRef:
        return SetRef(self.set_id, self.generation)

    @property
    def secret_name(self) -> str:
        if self.kind is SecretKind.CUSTOM:
            return f"custom secret {self.label!r}"
        return f"{self.kind.value} passphrase"

    def describe(self) -> str:
        return (
            f"{self.secret_name}, set {self.set_id} generation {self.generation}, "
            f"{self.threshold} of {self.count}"
        )


@dataclass(frozen=True, eq=False)
class Share:
    """One custodian's share. The payload is secret; repr shows only public fields."""

    set: ShareSet
    index: int
    payload: Secret = field(repr=False)
    source: str = ""  # where it came from (a file name, a custodian), used in messages

    @property
    def x(self) -> int:
        return self.payload.reveal()[-1]

    @property
    def name(self) -> str:
        base = f"share {self.index} of {self.set.count}"
        return f"{base} ({self.source})" if self.source else base

    @property
    def fingerprint(self) -> str:
        """A short identifier for journals: see docs/shares.md for why it reveals nothing useful."""
        digest = hashlib.sha256(_FINGERPRINT_DOMAIN + _body(self)).digest()[:5]
        text = _to_base32(digest).lower()
        return f"{text[:4]}-{text[4:]}"


def new_set_id() -> str:
    return _to_base32(secrets.token_bytes(SET_ID_LEN))


def encode_share(share: Share) -> Secret:
    """The share as text for paper, screens and files (see docs/shares.md)."""
    return Secret(encode_text(_body(share)), "share text")


def decode_share(text: str | Secret, *, source: str = "", first_line: int = 1) -> Share:
    """Parse one share's text, checking every group, the whole-share checksum and each field.
    `first_line`: the number of the text's first line in messages (for a share inside a file)."""
    raw = text.reveal_str() if isinstance(text, Secret) else text
    name = f"share from {source}" if source else "the share"
    body, groups = decode_text(raw, name, first_line)
    if len(body) < 13:
        raise ShareFormatError(
            f"{name} is too short: it ends after group {groups + 1}",
            "A group or more is missing at the end.",
            group=groups + 2,
        )
    label_len = body[12]
    secret_len = body[13 + label_len] if len(body) > 13 + label_len else 0
    encoding_code = body[8]
    packed_len = -(-secret_len * 5 // 8) if encoding_code == 1 else secret_len
    length = 13 + label_len + 1 + packed_len + 1 + COMMITMENT_LEN + CHECK_LEN
    expected_groups = body_groups(length)
    if groups != expected_groups:
        where = "missing" if groups < expected_groups else "extra"
        raise ShareFormatError(
            f"{name} has {groups + 1} groups, but its header says {expected_groups + 1}",
            f"A whole group is {where}: compare the number of groups with the paper copy.",
            group=min(groups, expected_groups) + 2,
        )
    if any(body[length:]):
        raise ShareFormatError(f"{name} has data after its end", "Check the last group.")
    body = body[:length]
    check = hashlib.sha256(_CHECK_DOMAIN + body[:-CHECK_LEN]).digest()[:CHECK_LEN]
    if not hmac.compare_digest(check, body[-CHECK_LEN:]):
        raise ShareFormatError(
            f"{name}: every group checks, but the whole share does not",
            "Two typos in one group, or groups in the wrong order: compare the whole share again.",
        )
    return _parse_fields(body, name, source)


def parse_shares(text: str | Secret, *, source: str = "") -> list[Share | RawShare]:
    """Parse one or more shares separated by blank lines: hsmconsole shares, or raw base64 ones.

    A blank line ends a share only where the next one starts (its first group is HSMC1 or one
    mistake away from it) or where a raw share follows, so a blank line typed inside a share is
    harmless. Lines are numbered from the start of `text` in messages.
    """
    raw = text.reveal_str() if isinstance(text, Secret) else text
    lines = raw.split("\n")
    items: list[tuple[bool, int, int]] = []  # (raw?, first line, last line), 0-based
    i = 0
    while i < len(lines):
        if _blank(lines[i]):
            i += 1
            continue
        j = i
        while j + 1 < len(lines) and not _blank(lines[j + 1]):
            j += 1
        block = "\n".join(lines[i : j + 1])
        if items and not items[-1][0] and not starts_like_share(block) and not _looks_raw(block):
            items[-1] = (False, items[-1][1], j)  # the rest of the share before the blank line
        else:
            items.append((_looks_raw(block), i, j))
        i = j + 1
    if not items:
        name = f"share from {source}" if source else "the share"
        raise ShareFormatError(f"{name} is empty", "Type or paste the whole share.")
    out: list[Share | RawShare] = []
    for k, (is_raw, first, last) in enumerate(items, 1):
        src = source if len(items) == 1 else f"{source}#{k}" if source else f"#{k}"
        if is_raw:
            out.append(decode_raw_share(lines[first], source=src))
        else:
            # Line numbers in messages stay those of the whole text (without padding each share
            # with `first` newlines, which made a file of many shares quadratic).
            body = "\n".join(lines[first : last + 1])
            out.append(decode_share(body, source=src, first_line=first + 1))
    return out


# --- internals -------------------------------------------------------------------------------


def _to_base32(data: bytes) -> str:
    nbits = len(data) * 8
    nsym = -(-nbits // 5)
    acc = int.from_bytes(data, "big") << (nsym * 5 - nbits)
    return "".join(ALPHABET[(acc >> (5 * (nsym - 1 - k))) & 31] for k in range(nsym))


def _from_base32(text: str) -> bytes:
    acc = 0
    for c in text:
        acc = (acc << 5) | ALPHABET.index(c)
    nbytes = len(text) * 5 // 8
    return (acc >> (len(text) * 5 - nbytes * 8)).to_bytes(nbytes, "big")


def check_label(kind: SecretKind, label: str) -> None:
    if kind is SecretKind.CUSTOM:
        if not _LABEL_RE.fullmatch(label):
            raise InputError(
                "a custom secret needs a label of 1 to 32 characters",
                "Use letters, digits, space, '.', '_' or '-', starting with a letter or digit.",
            )
    elif label:
        raise InputError(f"only custom secrets have a label, not the {kind.value} passphrase")


def _meta_bytes(meta: ShareSet, index: int) -> bytes:
    label = meta.label.encode("ascii")
    return (
        _from_base32(meta.set_id)
        + meta.generation.to_bytes(2, "big")
        + bytes(
            [
                _KIND_CODES[meta.kind],
                meta.encoding.value,
                meta.threshold,
                meta.count,
                index,
                len(label),
            ]
        )
        + label
        + bytes([meta.secret_length])
    )


def with_commitment(meta: ShareSet, secret: bytes) -> ShareSet:
    # Keyed with the set id so that equal secrets give unrelated commitments in different sets;
    # it binds every header field except the share index.
    msg = _COMMIT_DOMAIN + _meta_bytes(meta, 0) + secret
    tag = hmac.new(_from_base32(meta.set_id), msg, hashlib.sha256).digest()[:COMMITMENT_LEN]
    return dataclasses.replace(meta, commitment=tag)


def _body(share: Share) -> bytes:
    body = _meta_bytes(share.set, share.index) + share.payload.reveal() + share.set.commitment
    return body + hashlib.sha256(_CHECK_DOMAIN + body).digest()[:CHECK_LEN]


def _parse_fields(body: bytes, name: str, source: str) -> Share:
    def bad(what: str) -> ShareFormatError:
        # Checksums matched, so this was made wrongly or forged, not mistyped.
        return ShareFormatError(f"{name} is not a valid share: {what}", "Ask for a new share.")

    set_id = _to_base32(body[:5])
    generation = int.from_bytes(body[5:7], "big")
    kind_code, enc_code, threshold, count, index, label_len = body[7:13]
    label_bytes = body[13 : 13 + label_len]
    pos = 13 + label_len
    secret_len = body[pos]
    payload = body[pos + 1 : -(COMMITMENT_LEN + CHECK_LEN)]
    commitment = body[-(COMMITMENT_LEN + CHECK_LEN) : -CHECK_LEN]
    if generation == 0:
        raise bad("generation 0")
    if kind_code not in _KINDS_BY_CODE:
        raise bad(f"unknown secret kind {kind_code}")
    if enc_code not in (0, 1):
        raise bad(f"unknown encoding {enc_code}")
    if not 2 <= threshold <= count:
        raise bad(f"threshold {threshold} with {count} shares")
    if not 1 <= index <= count:
        raise bad(f"index {index} of {count}")
    kind = _KINDS_BY_CODE[kind_code]
    try:
        label = label_bytes.decode("ascii")
        check_label(kind, label)
    except (UnicodeDecodeError, InputError):
        raise bad("its label") from None
    if secret_len == 0 or payload[-1] == 0:
        raise bad("empty secret or x coordinate 0")
    meta = ShareSet(
        set_id, generation, kind, label, threshold, count, PayloadEncoding(enc_code),
        secret_len, commitment,
    )  # fmt: skip
    return Share(meta, index, Secret(payload, "share"), source)


def _blank(line: str) -> bool:
    return all(c in SEPARATORS for c in line)


def _looks_raw(text: str) -> bool:
    """A raw base64 share: one unbroken base64 token that is not plausibly one of our shares.

    Anything that could be ours (a mistyped prefix, look-alikes, pasted without spaces) must be
    decoded as ours, so that its checksums name the mistake instead of a raw combine returning a
    wrong secret.
    """
    tokens = "".join(" " if c in SEPARATORS else c for c in text).split()
    if len(tokens) != 1 or looks_like_share(tokens[0]):
        return False
    return re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", tokens[0]) is not None


__all__ = [
    "RAW_SHARE_WARNING",
    "TEXT_ALPHABET",
    "PayloadEncoding",
    "RawShare",
    "SecretKind",
    "SetRef",
    "Share",
    "ShareFormatError",
    "ShareSet",
    "combine_raw_shares",
    "decode_raw_share",
    "decode_share",
    "encode_share",
    "new_set_id",
    "parse_shares",
    "with_commitment",
]
