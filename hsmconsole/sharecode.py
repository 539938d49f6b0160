"""Share text codec: bytes to grouped, checksummed Crockford base32 and back, locating every typo."""

from __future__ import annotations

from dataclasses import dataclass

from hsmconsole.errors import InputError

# Crockford's base32: digits and upper-case letters without I, L, O, U. On input, case is ignored and
# the look-alikes O -> 0 and I, L -> 1 are read as the digits they resemble.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "HSMC1"  # the first group of every share: "hsmconsole share code, format 1"
GROUP_DATA = 4  # data characters per group
GROUP_LEN = GROUP_DATA + 1  # plus one check character
GROUPS_PER_LINE = 5
# Separators between groups. Anything else that is not in the alphabet is a typo.
SEPARATORS = frozenset(" \t\r\n-\u00a0")

_VALUE: dict[str, int] = {}
for _i, _c in enumerate(ALPHABET):
    _VALUE[_c] = _i
    _VALUE[_c.lower()] = _i
for _c, _v in (("O", 0), ("o", 0), ("I", 1), ("i", 1), ("L", 1), ("l", 1)):
    _VALUE[_c] = _v

# GF(32) with the primitive polynomial x^5 + x^2 + 1. Group checks are linear over this field.
_POLY = 0b100101


def _gf32_mul(a: int, b: int) -> int:
    result = 0
    while b:
        if b & 1:
            result ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _POLY
    return result


# Position weights alpha^1..alpha^4 for the data characters; the check character has weight 1.
# All five weights are distinct and non-zero, which is what makes the detection provable:
#   substitution at position j changes the syndrome by w_j * e, non-zero for e != 0;
#   swapping positions j, j+1 changes it by (w_j + w_j+1) * (s_j + s_j+1), non-zero unless s_j == s_j+1.
WEIGHTS = (2, 4, 8, 16)


def group_check(data: tuple[int, ...] | list[int], group_number: int) -> int:
    """The check value for one group's four data symbols, at its 1-based position in the share.

    The group number is mixed in so that a group read in the wrong place (a line skipped or read
    twice) usually fails its own check rather than only the whole-share check.
    """
    acc = group_number % 32
    for w, s in zip(WEIGHTS, data, strict=True):
        acc ^= _gf32_mul(w, s)
    return acc


class ShareFormatError(InputError):
    """A share's text is malformed. `group` and `line` (1-based) locate the problem when known."""

    def __init__(
        self, title: str, hint: str = "", *, group: int | None = None, line: int | None = None
    ) -> None:
        super().__init__(title, hint)
        self.group = group
        self.line = line


@dataclass(frozen=True)
class _Chunk:
    symbols: tuple[int, ...]
    group: int  # 1-based; the prefix is group 1
    line: int  # 1-based line of the text where the group starts


def body_groups(body_len: int) -> int:
    """How many data groups a body of `body_len` bytes occupies (the prefix not counted)."""
    symbols = -(-body_len * 8 // 5)
    return -(-symbols // GROUP_DATA)


def encode_text(body: bytes) -> str:
    """Render body bytes as a share text: the prefix, then checked groups, five groups a line."""
    symbols = _bytes_to_symbols(body)
    pad = (-len(symbols)) % GROUP_DATA
    symbols += [0] * pad
    groups = [PREFIX]
    for g in range(len(symbols) // GROUP_DATA):
        data = symbols[g * GROUP_DATA : (g + 1) * GROUP_DATA]
        check = group_check(data, g + 2)
        groups.append("".join(ALPHABET[s] for s in [*data, check]))
    lines = [
        " ".join(groups[i : i + GROUPS_PER_LINE]) for i in range(0, len(groups), GROUPS_PER_LINE)
    ]
    return "\n".join(lines) + "\n"


def decode_text(text: str, name: str) -> tuple[bytes, int]:
    """Parse share text into (body bytes, number of data groups).

    The body is every data bit, zero-filled to whole bytes, so it ends with up to three bytes of
    padding that the caller must check are zero.
    Every single-character substitution, deletion, insertion or adjacent transposition that changes
    what the text says raises ShareFormatError naming the group (and line) where it happened.
    `name` names the share in messages ("share from alice.txt").
    """
    chunks = _chunks(text, name)
    if not chunks:
        raise ShareFormatError(f"{name} is empty", "Type or paste the whole share.")
    first = chunks[0]
    if tuple(_VALUE.get(c, -1) for c in PREFIX) != first.symbols:
        raise ShareFormatError(
            f"{name} does not start with {PREFIX} (group 1, line {first.line})",
            f"Every hsmconsole share starts with the group {PREFIX}; check the first group.",
            group=1,
            line=first.line,
        )
    symbols: list[int] = []
    for chunk in chunks[1:]:
        data = chunk.symbols[:GROUP_DATA]
        if group_check(data, chunk.group) != chunk.symbols[GROUP_DATA]:
            raise ShareFormatError(
                f"{name}: group {chunk.group} (line {chunk.line}) has a typo",
                f"Compare group {chunk.group} character by character with the paper copy.",
                group=chunk.group,
                line=chunk.line,
            )
        symbols.extend(data)
    if not symbols:
        raise ShareFormatError(
            f"{name} has no groups after {PREFIX}", "Type or paste the whole share.", group=2
        )
    nbits = len(symbols) * 5
    acc = 0
    for s in symbols:
        acc = (acc << 5) | s
    # Zero-fill to whole bytes; the caller checks that everything past the body is zero.
    nbytes = -(-nbits // 8)
    return (acc << (nbytes * 8 - nbits)).to_bytes(nbytes, "big"), len(chunks) - 1


def _chunks(text: str, name: str) -> list[_Chunk]:
    """Split text into groups of GROUP_LEN symbols, checking characters and group lengths.

    Groups are separated by spaces, hyphens or line breaks. A run of characters without separators
    is accepted when its length is a whole number of groups (text pasted without spaces), so
    dropping a separator is harmless, while adding or dropping a character never is.
    """
    chunks: list[_Chunk] = []
    line = 1
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in SEPARATORS:
            if c == "\n":
                line += 1
            i += 1
            continue
        start_line = line
        run: list[int] = []
        while i < n and text[i] not in SEPARATORS:
            v = _VALUE.get(text[i])
            if v is None:
                group = len(chunks) + len(run) // GROUP_LEN + 1
                raise ShareFormatError(
                    f"{name}: group {group} (line {line}) contains a character that is not "
                    "part of a share",
                    f"Shares use only the characters {ALPHABET} (any case); re-type group {group}.",
                    group=group,
                    line=line,
                )
            run.append(v)
            i += 1
        group = len(chunks) + 1
        if len(run) % GROUP_LEN:
            if len(run) < GROUP_LEN:
                what = f"has only {len(run)} characters: one or more are missing"
            elif len(run) < 2 * GROUP_LEN:
                what = f"has {len(run)} characters: one too many, or a space is missing"
            else:
                what = (
                    f"starts a run of {len(run)} characters, which is not a whole number "
                    f"of {GROUP_LEN}-character groups"
                )
            raise ShareFormatError(
                f"{name}: group {group} (line {start_line}) {what}",
                f"Every group has exactly {GROUP_LEN} characters; re-type group {group}.",
                group=group,
                line=start_line,
            )
        for k in range(0, len(run), GROUP_LEN):
            chunks.append(_Chunk(tuple(run[k : k + GROUP_LEN]), len(chunks) + 1, start_line))
    return chunks


def _bytes_to_symbols(data: bytes) -> list[int]:
    nbits = len(data) * 8
    nsym = -(-nbits // 5)
    acc = int.from_bytes(data, "big") << (nsym * 5 - nbits)
    return [(acc >> (5 * (nsym - 1 - k))) & 31 for k in range(nsym)]


# Passphrases generated by hsmconsole are lower-case strings over the same alphabet; a share stores
# such a secret packed at five bits a character, which makes it a third shorter to type.
TEXT_ALPHABET = ALPHABET.lower()
_TEXT_VALUE = {c: i for i, c in enumerate(TEXT_ALPHABET)}


def is_packable_text(secret: bytes) -> bool:
    return 0 < len(secret) <= 255 and all(chr(b) in _TEXT_VALUE for b in secret)


def pack_text(secret: bytes) -> bytes:
    """Pack lower-case base32 text into bytes, five bits a character, zero-padded at the end."""
    symbols = [_TEXT_VALUE[chr(b)] for b in secret]
    nbits = len(symbols) * 5
    acc = 0
    for s in symbols:
        acc = (acc << 5) | s
    nbytes = -(-nbits // 8)
    return (acc << (nbytes * 8 - nbits)).to_bytes(nbytes, "big")


def unpack_text(packed: bytes, length: int) -> bytes | None:
    """Inverse of pack_text for a text of `length` characters; None if the bytes cannot be that."""
    nbits = length * 5
    if len(packed) != -(-nbits // 8):
        return None
    acc = int.from_bytes(packed, "big")
    spare = len(packed) * 8 - nbits
    if acc & ((1 << spare) - 1):
        return None
    acc >>= spare
    return bytes(
        ord(TEXT_ALPHABET[(acc >> (5 * (length - 1 - k))) & 31]) for k in range(length)
    )
