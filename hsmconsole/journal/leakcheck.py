"""Tell text that looks like a share, passphrase or key from the short notes the journal records."""

from __future__ import annotations

import itertools
import re

from hsmconsole.alphabet import ALPHABET

# The share prefix, as it may be typed (I or L for 1).
_SHARE_PREFIX_RE = re.compile(r"HSMC[1IL]", re.IGNORECASE)
# A long unbroken run of base32/base64/hex characters: passphrases, share codes, keys, digests.
_LONG_RUN_RE = re.compile(r"[A-Za-z0-9+=]{24,}")
# The same with "/", which base64 has and paths have too: told apart below.
_SLASHED_RUN_RE = re.compile(r"[A-Za-z0-9+/=]{20,}")
_PATH_JOINERS = ("-", "_", "~", ".")
_EXTENSION_RE = re.compile(r"\.\w")
# Secrets written in groups: "4k7w 2c9h …", "3c ee 2a …", "3cee:2a74:…", share lines.
_WORDS_RE = re.compile(r"[\s,_-]+")
_HEX_WORDS_RE = re.compile(r"[\s,:._-]+")
_ALNUM_RE = re.compile(r"[A-Za-z0-9]{1,23}")
_VOWELS = frozenset("aeiou")  # not y: base32 passphrases have it
_NAMED_NUMBER_RE = re.compile(r"([A-Za-z]{4,})[0-9]+|([A-Za-z]{2,3})[0-9]{3,}")
_LETTER_NUMBER_RE = re.compile(r"[A-Za-z][0-9]{3,}")
_ORDINAL_OR_UNIT_RE = re.compile(
    r"[0-9]*(?:1st|2nd|3rd|[04-9]th|1[1-3]th)|[0-9]+(?:am|pm|ms|min|[kmgt]i?b|bits?)", re.IGNORECASE
)
_HEX = frozenset("0123456789abcdefABCDEF")
_SHARE_CHARS = frozenset(ALPHABET + ALPHABET.lower() + "OoIiLl")


def looks_secret(text: str) -> bool:
    """Whether `text` holds what looks like a secret: the share prefix, a long run of base32,
    base64 or hex characters (with or without '/'), or such characters written in groups.

    Ordinary notes pass: words, names, counts, file paths, timestamps, a set id or two. Shares
    (whole or a line), raw base64 shares, generated passphrases in any grouping and hex keys
    (grouped or not) do not. The tests measure both on generated samples.
    """
    if _SHARE_PREFIX_RE.search(text) or _LONG_RUN_RE.search(text):
        return True
    for m in _SLASHED_RUN_RE.finditer(text):
        before, after = text[m.start() - 1 : m.start()], text[m.end() : m.end() + 2]
        # A run inside a longer path ("…/8A3C-11F2/envelopes/alice-7KQ2MX4P.envelope") is judged
        # as a path; a run standing alone, as possible base64.
        in_path = (
            m.group().startswith("/")
            or before in _PATH_JOINERS
            or after[:1] in _PATH_JOINERS[:-1]
            or _EXTENSION_RE.fullmatch(after) is not None
        )
        if _base64_with_slashes(m.group(), in_path=in_path):
            return True
    return any(_grouped(run) for run in _runs(_WORDS_RE.split(text))) or any(
        _hex(run) for run in _runs(_HEX_WORDS_RE.split(text))
    )


def _runs(words: list[str]) -> list[list[str]]:
    """Maximal runs of consecutive plain alphanumeric words (punctuation ends a run)."""
    plain = itertools.groupby(words, key=lambda w: _ALNUM_RE.fullmatch(w) is not None)
    return [list(group) for ok, group in plain if ok]


def _switches(text: str) -> int:
    """Changes between lower case, upper case and digits, not counting a capital starting a word:
    random text switches about every other character, words and paths hardly ever."""
    kinds = ["d" if c.isdigit() else "u" if c.isupper() else "l" for c in text if c.isalnum()]
    return sum(a != b and (a, b) != ("u", "l") for a, b in itertools.pairwise(kinds))


def _base64_with_slashes(run: str, *, in_path: bool) -> bool:
    if "/" not in run:
        return False  # anything long enough was caught whole
    if "+" in run or run.endswith("="):
        return True  # base64's other characters, which paths do not use
    pairs = sum(c.isalnum() for c in run) - 1
    if in_path:
        # A path, or base64 that happens to start with '/' (1 in 64): base64 mixes both cases
        # and digits throughout, a path's words hardly (a random temporary name has no capitals).
        if any(len(s) >= 16 and _switches(s) >= 4 for s in run.split("/")):
            return True
        upper, lower = sum(c.isupper() for c in run), sum(c.islower() for c in run)
        return upper >= 2 and lower >= 2 and _switches(run) >= max(5, pairs // 5)
    # Not a path: base64 (a multiple of 4 long) mixing character kinds, or plain randomness.
    return (len(run) % 4 == 0 and _switches(run) >= 2) or _switches(run) >= max(4, pairs // 6)


def _wordish(letters: str) -> bool:
    """Letters with vowels as words have them: one in five or more (random base32 letters have
    one in eleven: a and e; y is not counted)."""
    return 5 * sum(c in _VOWELS for c in letters.lower()) >= len(letters)


def _code_like(word: str) -> bool:
    """Not a word or a number: letters and digits interleaved, or lower-case letters with hardly a
    vowel (acronyms such as TLS or HSM are upper case). A word with a number after it
    (operator1; rsa2048 or p256 with three digits or more) or an ordinal or a number with a unit
    (2nd, 10am, 64MiB) is a word: what is left is what grouped base32 is made of."""
    if word.isdigit():
        return False
    if word.isalpha():
        return len(word) >= 2 and word.islower() and not _wordish(word)
    named = _NAMED_NUMBER_RE.fullmatch(word)
    if named is not None and _wordish(named.group(1) or named.group(2)):
        return False
    return not (_LETTER_NUMBER_RE.fullmatch(word) or _ORDINAL_OR_UNIT_RE.fullmatch(word))


def _grouped(words: list[str]) -> bool:
    # Some consecutive words that are largely code: 20 characters or more, two in five or more.
    code = [0, *itertools.accumulate(len(w) if _code_like(w) else 0 for w in words)]
    size = [0, *itertools.accumulate(len(w) for w in words)]
    for i, j in itertools.combinations(range(len(words) + 1), 2):
        c = code[j] - code[i]
        if c >= 20 and 5 * c >= 2 * (size[j] - size[i]):
            return True
    # One character a group: 16 single letters and digits in a row, some of each.
    for one, group in itertools.groupby(words, key=lambda w: len(w) == 1):
        chars = "".join(group)
        letters = sum(c.isalpha() for c in chars)
        if one and len(chars) >= 16 and 3 <= letters <= len(chars) - 3:
            return True
    # Share-like five-character groups: three in a row if one has a digit or is upper case (a
    # share line), five in a row in any case (prose rarely has either).
    row = marked = 0
    for w in words:
        if len(w) == 5 and set(w) <= _SHARE_CHARS:
            row += 1
            marked += any(c.isdigit() for c in w) or w.isupper()
        else:
            row = marked = 0
        if (row >= 3 and marked) or row >= 5:
            return True
    return False


def _hex(words: list[str]) -> bool:
    """Hex in any grouping or case: digits and a-f only, some of each, 24 characters or more."""
    joined = "".join(words)
    digits = sum(c.isdigit() for c in joined)
    return len(joined) >= 24 and set(joined) <= _HEX and 0.2 * len(joined) <= digits < len(joined)
