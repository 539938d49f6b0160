"""Share text: every single-character mistake is detected and located; arbitrary text fails cleanly."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsmconsole import sharecode
from hsmconsole.passgen import generate_passphrase
from hsmconsole.secrets import Secret
from hsmconsole.sharecode import ALPHABET, GROUP_LEN, PREFIX, ShareFormatError, group_check
from hsmconsole.shares import (
    SecretKind,
    Share,
    combine_shares,
    decode_share,
    encode_share,
    parse_shares,
    split_secret,
)

# An independent reading of the format for the test oracle: which characters mean what.
_VALUES = {c: i for i, c in enumerate(ALPHABET)}
_VALUES.update({c.lower(): i for c, i in list(_VALUES.items())})
_VALUES.update({"O": 0, "o": 0, "I": 1, "i": 1, "L": 1, "l": 1})
_SEPS = " \t\r\n-\u00a0"
# Characters tried at every position: the alphabet in both cases, look-alikes, separators, junk.
CANDIDATES = sorted(set(ALPHABET + ALPHABET.lower() + "OILoil" + " \n-" + "U!=é+/_.\x00"))


def meaning(text: str) -> tuple[int, ...] | None:
    """What a text says, if it is well-formed: symbols in order (tokens must be whole groups)."""
    out: list[int] = []
    token: list[int] = []
    for c in [*text, " "]:
        if c in _SEPS:
            if len(token) % GROUP_LEN:
                return None
            out.extend(token)
            token = []
        elif c in _VALUES:
            token.append(_VALUES[c])
        else:
            return None
    return tuple(out)


def group_of_chars(text: str) -> list[int | None]:
    """The 1-based group number of each character of a canonical share text (None: separator)."""
    groups: list[int | None] = []
    g = 0
    prev_sep = True
    for c in text:
        if c in _SEPS:
            groups.append(None)
            prev_sep = True
        else:
            if prev_sep:
                g += 1
            prev_sep = False
            groups.append(g)
    return groups


def nearby_groups(groups: list[int | None], lo: int, hi: int) -> set[int]:
    """Groups of the characters in [lo, hi) plus the nearest group characters on either side."""
    found = {g for g in groups[max(lo, 0) : hi] if g is not None}
    left = next((groups[i] for i in range(lo - 1, -1, -1) if groups[i] is not None), None)
    right = next((groups[i] for i in range(hi, len(groups)) if groups[i] is not None), None)
    last = max(g for g in groups if g is not None)
    found |= {g for g in (left, right) if g is not None}
    if right is None:
        found.add(last + 1)
    return found


def single_edits(text: str) -> list[tuple[str, str, int, int]]:
    """(kind, edited text, lo, hi) for every substitution, deletion, insertion, transposition."""
    edits = []
    for p, c in enumerate(text):
        for r in CANDIDATES:
            if r != c:
                edits.append(("substitution", text[:p] + r + text[p + 1 :], p, p + 1))
        edits.append(("deletion", text[:p] + text[p + 1 :], p, p + 1))
        if p + 1 < len(text) and text[p] != text[p + 1]:
            swapped = text[:p] + text[p + 1] + text[p] + text[p + 2 :]
            edits.append(("transposition", swapped, p, p + 2))
    for p in range(len(text) + 1):
        for r in CANDIDATES:
            edits.append(("insertion", text[:p] + r + text[p:], p, p))
    return edits


def check_edit(share: Share, text: str, kind: str, edited: str, lo: int, hi: int) -> None:
    original = meaning(text)
    groups = group_of_chars(text)
    try:
        got = decode_share(edited, source="alice.txt")
    except ShareFormatError as exc:
        assert meaning(edited) != original, f"{kind} at {lo} refused a harmless edit: {exc}"
        assert "alice.txt" in exc.title
        assert exc.group is not None, f"{kind} at {lo}: not located: {exc}"
        assert exc.group in nearby_groups(groups, lo, hi), (
            f"{kind} at {lo} located at group {exc.group}: {exc}"
        )
        return
    # Accepted: only if the text still says exactly the same thing.
    assert meaning(edited) == original, f"{kind} at {lo} was not detected"
    assert encode_share(got) == encode_share(share)


def _shares_for_exhaustive() -> list[Share]:
    passphrase = split_secret(generate_passphrase(), threshold=3, count=5)[1]
    custom = split_secret(
        Secret(bytes(range(40))), threshold=2, count=16, kind=SecretKind.CUSTOM, label="hsm key 7"
    )[15]
    return [passphrase, custom]


@pytest.mark.parametrize("share", _shares_for_exhaustive(), ids=["passphrase", "custom-binary"])
def test_every_single_character_mistake_is_detected_and_located(share: Share) -> None:
    text = encode_share(share).reveal_str()
    edits = single_edits(text)
    assert len(edits) > 10_000
    for kind, edited, lo, hi in edits:
        check_edit(share, text, kind, edited, lo, hi)


@settings(max_examples=40)
@given(
    secret=st.binary(min_size=1, max_size=64),
    k_n=st.integers(2, 16).flatmap(lambda n: st.tuples(st.integers(2, n), st.just(n))),
    pick=st.integers(0, 15),
    edit=st.data(),
)
def test_random_shares_random_mistakes(
    secret: bytes, k_n: tuple[int, int], pick: int, edit: st.DataObject
) -> None:
    k, n = k_n
    share = split_secret(Secret(secret), threshold=k, count=n)[pick % n]
    text = encode_share(share).reveal_str()
    edits = single_edits(text)
    # Indices drawn independently of the (random) share, so hypothesis replays are stable.
    for i in edit.draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=200)):
        check_edit(share, text, *edits[i % len(edits)])


def test_case_look_alikes_and_spacing_are_forgiven() -> None:
    share = split_secret(generate_passphrase(), threshold=2, count=3)[0]
    text = encode_share(share).reveal_str()
    variants = [
        text.lower(),
        text.replace("0", "o").replace("1", "l"),
        text.replace(" ", "-"),
        text.replace("\n", " "),
        "".join(text.split()),  # pasted without separators
        f"\n\n  {text}  \n",
    ]
    for v in variants:
        assert encode_share(decode_share(v)) == encode_share(share)


def test_group_weights_make_detection_provable() -> None:
    # The proof in docs/shares.md rests on: GF(32) multiplication has no zero divisors, the five
    # position weights (1 for the check character) are distinct and non-zero.
    for a, b in itertools.product(range(1, 32), repeat=2):
        assert sharecode._gf32_mul(a, b) != 0
    weights = [*sharecode.WEIGHTS, 1]
    assert len(set(weights)) == 5 and 0 not in weights
    # and a concrete consequence for one group: every substitution and swap changes the check
    data = [3, 17, 0, 31]
    check = group_check(data, 7)
    for j in range(4):
        for v in range(32):
            if v != data[j]:
                changed = data.copy()
                changed[j] = v
                assert group_check(changed, 7) != check


def test_missing_or_extra_whole_group_is_reported() -> None:
    share = split_secret(generate_passphrase(), threshold=2, count=3)[0]
    groups = encode_share(share).reveal_str().split()
    with pytest.raises(ShareFormatError) as exc:
        decode_share(" ".join(groups[:-1]))
    assert "groups" in exc.value.title
    with pytest.raises(ShareFormatError):
        decode_share(" ".join([*groups, groups[-1]]))
    swapped = [groups[0], groups[2], groups[1], *groups[3:]]
    with pytest.raises(ShareFormatError):
        decode_share(" ".join(swapped))


def test_prefix_is_required() -> None:
    share = split_secret(generate_passphrase(), threshold=2, count=3)[0]
    text = encode_share(share).reveal_str()
    with pytest.raises(ShareFormatError) as exc:
        decode_share(text.replace(PREFIX, "HSMC2", 1))
    assert exc.value.group == 1


@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_share_format_error(text: str) -> None:
    with contextlib.suppress(ShareFormatError):
        decode_share(text)
    with contextlib.suppress(ShareFormatError):
        parse_shares(text)


@given(st.binary(min_size=0, max_size=120))
def test_well_checksummed_garbage_raises_only_share_format_error(body: bytes) -> None:
    # Bodies whose groups all check: exercises the field parser on every odd header.
    with contextlib.suppress(ShareFormatError):
        decode_share(sharecode.encode_text(body))


@given(st.text(alphabet=ALPHABET + " \n-", max_size=200))
def test_alphabet_soup_raises_only_share_format_error(text: str) -> None:
    with contextlib.suppress(ShareFormatError):
        decode_share(PREFIX + " " + text)


def test_repr_hides_the_payload() -> None:
    share = split_secret(generate_passphrase(), threshold=2, count=3)[0]
    text = encode_share(share).reveal_str()
    for shown in (repr(share), str(share), repr(dataclasses.astuple(share.set))):
        assert share.payload.reveal().hex() not in shown
        assert text.split()[5] not in shown


def test_worked_example_in_the_docs() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "shares.md").read_text()

    def example(n: int) -> str:
        after = doc.split(f"<!-- example-share-{n} -->\n```\n", 1)[1]
        return after.split("```", 1)[0]

    shares = [decode_share(example(n), source=f"example {n}") for n in (1, 2, 4)]
    assert [s.index for s in shares] == [1, 2, 4]
    assert shares[1].fingerprint == "xny9-tg2g" and shares[1].set.set_id == "7KQ2MX4P"
    secret = combine_shares(shares).reveal_str()
    assert secret == "4k7w2c9hzq8x1m5ne3rt6vbj0yfpg2sd7a9kq4w8h3x6m1zt5cnr"
    assert f"\n{secret}\n" in doc
    with pytest.raises(ShareFormatError) as exc:
        decode_share(example(2).replace("0D6KV", "006KV"))
    assert (exc.value.group, exc.value.line) == (7, 2)
    assert "group 7 (line 2) has a typo" in exc.value.title
