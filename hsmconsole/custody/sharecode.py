"""Share text codec: bytes to grouped, checksummed Crockford base32 and back, locating every typo."""

from __future__ import annotations

from dataclasses import dataclass

from hsmconsole.alphabet import ALPHABET as ALPHABET  # re-exported: shares are written in it
from hsmconsole.errors import InputError

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
# The prefix is read like any other group, so `hsmcl` is HSMC1 too.
_PREFIX_SYMBOLS = tuple(_VALUE[c] for c in PREFIX)

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
    """A share's text is malformed. `group` and `line` (1-based) locate the problem when known.

    `last_group` is the end of the span of groups the mistake is in; it equals `group` unless a
    character went missing or extra in a long run without separators, where the place can only
    be narrowed down to a few neighbouring groups (usually still one).
    """

    def __init__(
        self,
        title: str,
        hint: str = "",
        *,
        group: int | None = None,
        line: int | None = None,
        last_group: int | None = None,
    ) -> None:
        super().__init__(title, hint)
        self.group = group
        self.line = line
        self.last_group = group if last_group is None else last_group


@dataclass(frozen=True)
class _Chunk:
    symbols: tuple[int, ...]
    group: int  # 1-based; the prefix is group 1
    line: int  # 1-based line of the text where the group starts


def body_groups(body_len: int) -> int:
    """How many data groups a body of `body_len` bytes occupies (the prefix not counted)."""
    symbols = -(-body_len * 8 // 5)
    return -(-symbols // GROUP_DATA)


_ORDINALS = ("1st", "2nd", "3rd", "4th", "5th")


def paper_place(group: int) -> str:
    """Where a group stands on the paper copy ("line 3, 2nd group"), whatever the typed layout.

    Messages name this rather than the line of the typed text: a share typed into a one-line field
    is all on "line 1", while the custodian compares against the paper, which has five groups a
    line (encode_text), as the reveal screen showed them.
    """
    line, col = divmod(group - 1, GROUPS_PER_LINE)
    return f"line {line + 1}, {_ORDINALS[col]} group"


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


def decode_text(text: str, name: str, first_line: int = 1) -> tuple[bytes, int]:
    """Parse share text into (body bytes, number of data groups).

    The body is every data bit, zero-filled to whole bytes, so it ends with up to three bytes of
    padding that the caller must check are zero.
    Every single-character substitution, deletion, insertion or adjacent transposition that changes
    what the text says raises ShareFormatError naming the group (and line) where it happened, or a
    span of neighbouring groups holding it (`last_group`) where groups ran together.
    `name` names the share in messages ("share from alice.txt"); `first_line` is the number of
    the text's first line in messages (a share found further down a file of several).
    """
    chunks = _chunks(text, name, first_line)
    if not chunks:
        raise ShareFormatError(f"{name} is empty", "Type or paste the whole share.")
    first = chunks[0]
    if first.symbols != _PREFIX_SYMBOLS:
        raise ShareFormatError(
            f"{name} does not start with {PREFIX} (group 1, {paper_place(1)})",
            f"Every hsmconsole share starts with the group {PREFIX}; check the first group.",
            group=1,
            line=first.line,
        )
    symbols: list[int] = []
    for chunk in chunks[1:]:
        data = chunk.symbols[:GROUP_DATA]
        if group_check(data, chunk.group) != chunk.symbols[GROUP_DATA]:
            raise ShareFormatError(
                f"{name}: group {chunk.group} ({paper_place(chunk.group)}) has a typo",
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


def _chunks(text: str, name: str, first_line: int = 1) -> list[_Chunk]:
    """Split text into groups of GROUP_LEN symbols, checking characters and group lengths.

    Groups are separated by spaces, hyphens or line breaks. A run of characters without separators
    is accepted when its length is a whole number of groups (text pasted without spaces), so
    dropping a separator is harmless, while adding or dropping a character never is.
    """
    chunks: list[_Chunk] = []
    line = first_line
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
                    f"{name}: group {group} ({paper_place(group)}) contains a character that is not "
                    "part of a share",
                    f"Shares use only the characters {ALPHABET} (any case); re-type group {group}.",
                    group=group,
                    line=line,
                )
            run.append(v)
            i += 1
        group = len(chunks) + 1
        if len(run) % GROUP_LEN:
            raise _bad_run(run, group, start_line, name)
        for k in range(0, len(run), GROUP_LEN):
            chunks.append(_Chunk(tuple(run[k : k + GROUP_LEN]), len(chunks) + 1, start_line))
    return chunks


def _checks(symbols: list[int], group: int) -> bool:
    """Whether five symbols are a sound group at 1-based position `group` (group 1 is the prefix)."""
    if len(symbols) != GROUP_LEN:
        return False
    if group == 1:
        return tuple(symbols) == _PREFIX_SYMBOLS
    return group_check(symbols[:GROUP_DATA], group) == symbols[GROUP_DATA]


def _bad_run(run: list[int], first: int, line: int, name: str) -> ShareFormatError:
    """The error for a run that is not a whole number of groups, placed where it went wrong.

    A run starting at group `first` had characters added or lost. Groups before the mistake still
    check when cut from the run's start, and groups after it when cut from the run's end, so each
    group that may hold the mistake is scored by how many groups check around it; the best-scored
    groups are named. Either `spare` characters are extra (groups after the mistake end `spare`
    later) or 5 - spare are missing (one group more, ending 5 - spare earlier): both are scored,
    and a group after the mistake checks under one of the two numberings only. The true place
    always scores highest (every group around it checks); another ties with it only when shifted
    groups pass by chance (1 in 32 each), so the span is usually the one group.
    """
    whole, spare = divmod(len(run), GROUP_LEN)
    forward = [_checks(run[GROUP_LEN * j : GROUP_LEN * (j + 1)], first + j) for j in range(whole)]
    leading = next((j for j, ok in enumerate(forward) if not ok), whole)  # groups checking from the start
    best, places = -1, set()
    for shift, groups in ((spare, whole), (spare - GROUP_LEN, whole + 1)):
        # One point less for the explanation that changes more characters: chance passes then
        # widen the span to both explanations rather than move it away from the mistake.
        penalty = int(abs(shift) > GROUP_LEN - abs(shift))
        at = [GROUP_LEN * j + shift for j in range(groups)]
        backward = [a >= 0 and _checks(run[a : a + GROUP_LEN], first + j) for j, a in enumerate(at)]
        trailing = 0  # groups checking from the end, after each candidate place
        for e in range(groups - 1, -1, -1):
            score = e + trailing - penalty if e <= leading else -1
            if score > best:
                best, places = score, {e}
            elif score == best:
                places.add(e)
            trailing = trailing + 1 if backward[e] and trailing == groups - 1 - e else trailing
    lo, hi = min(places), max(places)
    g, last = first + lo, first + hi
    n = len(run)
    if n < GROUP_LEN:
        what = f"group {g} ({paper_place(g)}) has only {n} characters: one or more are missing"
    elif n < 2 * GROUP_LEN and g == last:
        what = f"group {g} ({paper_place(g)}) has {n} characters: one too many, or a space is missing"
    elif g == last:
        what = f"group {g} ({paper_place(g)}) has a character missing or one too many"
    else:
        what = (
            f"groups {g} to {last} (from {paper_place(g)}) do not split into {GROUP_LEN}-character groups: "
            "a character is missing, extra, or in the place of a space"
        )
    where = f"group {g}" if g == last else f"groups {g} to {last}"
    return ShareFormatError(
        f"{name}: {what}",
        f"Every group has exactly {GROUP_LEN} characters; compare {where} with the paper copy.",
        group=g,
        line=line,
        last_group=last,
    )


def _canonical(c: str) -> str:
    value = _VALUE.get(c)
    return c if value is None else ALPHABET[value]


def _compact(text: str) -> str:
    return "".join(c for c in text if c not in SEPARATORS)


def _within_one_edit(a: str, b: str) -> bool:
    """Whether a and b differ by at most one substitution, deletion, insertion or adjacent swap."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) <= 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and (a[i], a[j]) == (b[j], b[i])
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def starts_like_share(text: str) -> bool:
    """Whether text begins with the prefix as a person may render it: any case, I or L for 1,
    separators anywhere, or with one character wrong, missing, extra or swapped."""
    head = "".join(_canonical(c) for c in _compact(text)[: GROUP_LEN + 1])
    return any(_within_one_edit(head[:n], PREFIX) for n in (GROUP_LEN - 1, GROUP_LEN, GROUP_LEN + 1))


def looks_like_share(text: str) -> bool:
    """Whether text is plausibly an hsmconsole share, however mistyped, rather than anything else
    (a raw base64 share in particular). Such text must go through our decoder, whose checks say
    what is wrong and where, and never be combined as an unchecked raw share.

    True when it starts like a share, or consists only of share characters and either cannot be
    base64 (its length is not a multiple of 4) or has the second and third groups of a share
    (each passes its check, 1 in 1024 for other text) at the place one prefix mistake may put them.
    """
    if starts_like_share(text):
        return True
    compact = _compact(text)
    if not compact or any(c not in _VALUE for c in compact):
        return False
    if len(compact) % 4:
        return True
    symbols = [_VALUE[c] for c in compact]
    return any(
        all(_checks(symbols[at + GROUP_LEN * j : at + GROUP_LEN * (j + 1)], 2 + j) for j in (0, 1))
        for at in (GROUP_LEN - 1, GROUP_LEN, GROUP_LEN + 1)
    )


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
