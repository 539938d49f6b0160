"""Share text: every single-character mistake is detected and located; arbitrary text fails cleanly."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import hmac
import itertools
import random
import re
from pathlib import Path
from typing import Any

import pyshamir
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hsmconsole.custody import sharecode
from hsmconsole.custody import shares as shares_module
from hsmconsole.custody.passgen import generate_passphrase
from hsmconsole.custody.sharecode import ALPHABET, GROUP_LEN, PREFIX, ShareFormatError, group_check
from hsmconsole.custody.shares import (
    RawShare,
    SecretKind,
    Share,
    decode_share,
    encode_share,
    parse_shares,
)
from hsmconsole.custody.split import combine_shares, split_secret
from hsmconsole.secrets import Secret

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
    """The 1-based group number of each character of a well-formed share text (None: separator).

    Tokens between separators are whole groups, so a token pasted without spaces spans several.
    """
    groups: list[int | None] = []
    g = 0  # groups before the current token
    pos = 0  # position inside the current token
    for c in text:
        if c in _SEPS:
            groups.append(None)
            g += -(-pos // GROUP_LEN)
            pos = 0
        else:
            groups.append(g + pos // GROUP_LEN + 1)
            pos += 1
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


@dataclasses.dataclass
class Oracle:
    """What the original text says and where its groups are, computed once per share text."""

    share: Share
    text: str
    original: tuple[int, ...] | None
    groups: list[int | None]
    exact: int = 0  # refusals naming a single group
    refused: int = 0

    @classmethod
    def of(cls, share: Share, text: str) -> Oracle:
        return cls(share, text, meaning(text), group_of_chars(text))


def check_edit(
    oracle: Oracle,
    kind: str,
    edited: str,
    lo: int,
    hi: int,
    *,
    parse: bool = False,
    harmless: bool | None = None,
) -> None:
    """One edit must be refused near where it was made, unless it changes nothing the format reads.

    With `parse`, the text goes through parse_shares (blank lines, raw-share classification) and
    must come back as exactly the one hsmconsole share, never as a raw base64 share.
    """
    if harmless is None:
        harmless = meaning(edited) == oracle.original
    try:
        if parse:
            parsed = parse_shares(edited, source="alice.txt")
            assert len(parsed) == 1 and isinstance(parsed[0], Share), f"{kind} at {lo}: {parsed}"
            got = parsed[0]
        else:
            got = decode_share(edited, source="alice.txt")
    except ShareFormatError as exc:
        assert not harmless, f"{kind} at {lo} refused a harmless edit: {exc}"
        assert "alice.txt" in exc.title
        assert exc.group is not None and exc.last_group is not None, f"{kind} at {lo}: not located: {exc}"
        span = set(range(exc.group, exc.last_group + 1))
        assert span & nearby_groups(oracle.groups, lo, hi), (
            f"{kind} at {lo} located at groups {exc.group}..{exc.last_group}: {exc}"
        )
        oracle.refused += 1
        oracle.exact += exc.group == exc.last_group
        return
    # Accepted: only if the text still says exactly the same thing.
    assert harmless, f"{kind} at {lo} was not detected"
    assert encode_share(got) == encode_share(oracle.share)


def _shares_for_exhaustive() -> list[Share]:
    passphrase = split_secret(generate_passphrase(), threshold=3, count=5)[1]
    custom = split_secret(
        Secret(bytes(range(40))), threshold=2, count=16, kind=SecretKind.CUSTOM, label="hsm key 7"
    )[15]
    return [passphrase, custom]


def compact(text: str) -> str:
    """The share as pasted without any spaces or line breaks."""
    return "".join(text.split())


@pytest.mark.slow
@pytest.mark.parametrize("share", _shares_for_exhaustive(), ids=["passphrase", "custom-binary"])
def test_every_single_character_mistake_is_detected_and_located(share: Share) -> None:
    """decode_share and parse_shares (which splits on blank lines and tells raw base64 shares
    apart) both refuse every edit that changes the share, at the group where it was made."""
    oracle = Oracle.of(share, encode_share(share).reveal_str())
    edits = single_edits(oracle.text)
    assert len(edits) > 10_000
    for kind, edited, lo, hi in edits:
        harmless = meaning(edited) == oracle.original
        check_edit(oracle, kind, edited, lo, hi, harmless=harmless)
        check_edit(oracle, kind, edited, lo, hi, parse=True, harmless=harmless)
    # Two groups run together (a space lost or replaced) are named as a span of both.
    assert oracle.exact >= 0.8 * oracle.refused


@pytest.mark.slow
@pytest.mark.parametrize("share", _shares_for_exhaustive(), ids=["passphrase", "custom-binary"])
def test_every_single_character_mistake_without_spaces_is_refused_and_located(share: Share) -> None:
    """Pasted as one run of characters, a share is still never misread as a raw base64 share, and
    every edit is refused. A missing or extra character can then only be placed within a span of
    groups (a shifted group passes its check 1 time in 32): the span always touches the edit and
    is usually one group."""
    oracle = Oracle.of(share, compact(encode_share(share).reveal_str()))
    edits = single_edits(oracle.text)
    assert len(edits) > 10_000
    for kind, edited, lo, hi in edits:
        check_edit(oracle, kind, edited, lo, hi, parse=True)
    assert oracle.exact >= 0.8 * oracle.refused


labels_st = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}", fullmatch=True)
any_secret_st = st.one_of(
    st.binary(min_size=1, max_size=64),
    st.text(alphabet=sharecode.TEXT_ALPHABET, min_size=1, max_size=80).map(str.encode),
)
kind_label_st = st.one_of(
    st.sampled_from([SecretKind.UNLOCK, SecretKind.ADMIN, SecretKind.BACKUP]).map(lambda k: (k, "")),
    labels_st.map(lambda label: (SecretKind.CUSTOM, label)),
)
k_n_st = st.integers(2, 16).flatmap(lambda n: st.tuples(st.integers(2, n), st.just(n)))


def random_share(secret: bytes, kind_label: tuple[SecretKind, str], k_n: tuple[int, int], pick: int) -> Share:
    k, n = k_n
    kind, label = kind_label
    return split_secret(Secret(secret), threshold=k, count=n, kind=kind, label=label)[pick % n]


@settings(max_examples=40)
@given(
    secret=any_secret_st, kind_label=kind_label_st, k_n=k_n_st, pick=st.integers(0, 15),
    spaced=st.booleans(), edit=st.data(),
)  # fmt: skip
@pytest.mark.slow
def test_random_shares_random_mistakes(
    secret: bytes,
    kind_label: tuple[SecretKind, str],
    k_n: tuple[int, int],
    pick: int,
    spaced: bool,
    edit: st.DataObject,
) -> None:
    share = random_share(secret, kind_label, k_n, pick)
    text = encode_share(share).reveal_str()
    oracle = Oracle.of(share, text if spaced else compact(text))
    edits = single_edits(oracle.text)
    # Indices drawn independently of the (random) share, so hypothesis replays are stable.
    for i in edit.draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=200)):
        check_edit(oracle, *edits[i % len(edits)], parse=True)


_LOOK_ALIKES = {"0": "0Oo", "1": "1IiLl"}
_RENDER_SEPS = ["", " ", "  ", "-", "\n", "\r\n", "\t", "\u00a0", " - ", "\n\n"]


@settings(max_examples=60)
@given(
    secret=any_secret_st, kind_label=kind_label_st, k_n=k_n_st, pick=st.integers(0, 15),
    seed=st.integers(0, 2**32),
)  # fmt: skip
def test_any_rendering_of_a_share_reads_as_that_share_never_as_raw(
    secret: bytes, kind_label: tuple[SecretKind, str], k_n: tuple[int, int], pick: int, seed: int
) -> None:
    """Case, look-alikes (O for 0, I or L for 1) and any separators between groups, blank lines
    included, give back the same share: through parse_shares, never as a raw base64 share."""
    share = random_share(secret, kind_label, k_n, pick)
    rng = random.Random(seed)  # the rendering is drawn from a seed: the share itself is random
    lower, spacing = rng.choice([0.0, 0.5, 1.0]), rng.choice([[""], _RENDER_SEPS, [" "]])
    groups = encode_share(share).reveal_str().split()
    rendered = rng.choice(["", "\n", " \n\n"])
    for g, group in enumerate(groups):
        for c in group:
            c = rng.choice(_LOOK_ALIKES.get(c, c))
            rendered += c.lower() if rng.random() < lower else c
        rendered += rng.choice(spacing) if g < len(groups) - 1 else rng.choice(["", "\n"])
    parsed = parse_shares(rendered, source="paper")
    assert len(parsed) == 1 and isinstance(parsed[0], Share), rendered
    assert encode_share(parsed[0]) == encode_share(share)


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


def checksummed_body(rng: random.Random) -> bytes:
    """A body with a valid whole-share checksum and, mostly, a length that fits its header, with
    odd header fields: what reaches the field parser (only a forger or a bug produces these)."""
    label_len = rng.choice([0, 0, rng.randint(1, 32), rng.randint(0, 255)])
    label = bytes(rng.choice(b"abcXYZ019 ._-\x00\xff") for _ in range(label_len))
    secret_len = rng.choice([0, 1, rng.randint(1, 255)])
    encoding = rng.choice([0, 1, 1, rng.randint(0, 255)])
    packed = -(-secret_len * 5 // 8) if encoding == 1 else secret_len
    payload = bytes(rng.randrange(256) for _ in range(packed + rng.choice([1, 1, 1, 0, 2])))
    header = (
        bytes(rng.randrange(256) for _ in range(5))
        + rng.choice([0, 1, rng.randint(0, 0xFFFF)]).to_bytes(2, "big")
        + bytes(
            [
                rng.choice([0, 1, 2, 3, rng.randrange(256)]),  # kind
                encoding,
                rng.choice([0, 1, 2, 3, rng.randrange(256)]),  # threshold
                rng.choice([1, 3, 5, rng.randrange(256)]),  # count
                rng.choice([0, 1, 2, 5, rng.randrange(256)]),  # index
                label_len,
            ]
        )
    )
    body = header + label + bytes([secret_len]) + payload + bytes(rng.randrange(256) for _ in range(8))
    return body + hashlib.sha256(PREFIX.encode() + body).digest()[:4]


@given(st.randoms(use_true_random=False))
def test_well_checksummed_garbage_raises_only_share_format_error(rng: random.Random) -> None:
    with contextlib.suppress(ShareFormatError):
        decode_share(sharecode.encode_text(checksummed_body(rng)))


def test_well_checksummed_garbage_mostly_reaches_the_field_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    reached = 0
    real = shares_module._parse_fields

    def counting(*args: Any) -> Share:
        nonlocal reached
        reached += 1
        return real(*args)

    monkeypatch.setattr(shares_module, "_parse_fields", counting)
    rng = random.Random(2024)
    accepted = 0
    for _ in range(2000):
        try:
            decode_share(sharecode.encode_text(checksummed_body(rng)))
            accepted += 1
        except ShareFormatError:
            pass
    assert reached > 1000  # the generator is not stopped by the checksum or the length
    assert 0 < accepted < reached  # some odd headers are valid, most are refused by the fields


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


def _gf32(a: int, b: int) -> int:
    """GF(32) multiplication modulo x^5 + x^2 + 1, written from docs/shares.md §2."""
    out = 0
    for bit in range(5):
        if b >> bit & 1:
            out ^= a << bit
    for bit in range(9, 4, -1):
        if out >> bit & 1:
            out ^= 0b100101 << (bit - 5)
    return out


def _doc_body(text: str) -> tuple[bytes, int]:
    """Body bytes and data-group count of a share text, by the document's rules alone."""
    groups = text.split()
    assert groups[0] == "HSMC1"
    symbols: list[int] = []
    for g, group in enumerate(groups[1:], start=2):
        d = [ALPHABET.index(c) for c in group]
        check = g % 32
        for w, s in zip((2, 4, 8, 16), d[:4], strict=True):
            check ^= _gf32(w, s)
        assert check == d[4], f"group {g} of the example fails its check"
        symbols += d[:4]
    bits = "".join(format(s, "05b") for s in symbols)
    return int(bits, 2).to_bytes(-(-len(bits) // 8), "big") if len(bits) % 8 == 0 else (
        int(bits + "0" * (-len(bits) % 8), 2).to_bytes(-(-len(bits) // 8), "big")
    ), len(groups) - 1


def test_worked_example_in_the_docs() -> None:
    """§7 of docs/shares.md, recomputed from the document's own definitions (hashlib and hmac,
    not our code), so that the document and the code cannot drift apart."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "shares.md").read_text()

    def example(n: int) -> str:
        after = doc.split(f"<!-- example-share-{n} -->\n```\n", 1)[1]
        return after.split("```", 1)[0]

    passphrase = "4k7w2c9hzq8x1m5ne3rt6vbj0yfpg2sd7a9kq4w8h3x6m1zt5cnr"
    assert f"\n{passphrase}\n" in doc
    stated = re.search(
        r"is\s+`([0-9a-f]+)`; the commitment is\s+`([0-9a-f]{16})` \(HMAC key `([0-9a-f]{10})`, "
        r"M = `([0-9a-f]+)`\)",
        doc,
    )
    assert stated is not None, "the example's packed secret, commitment, key and M are not where expected"
    packed_hex, commitment_hex, key_hex, m_hex = stated.groups()

    # The body table, hex column by column, must be share 2's text read by §2's rules.
    table = doc.split("Its body (B = 60 bytes", 1)[1].split("```\n", 2)[1]
    hex_bytes = ""
    for line in table.splitlines():
        for token in line.split() if not line.startswith(" ") else []:
            if not re.fullmatch(r"(?:[0-9a-f]{2})+", token):
                break
            hex_bytes += token
    body = bytes.fromhex(hex_bytes)
    decoded, data_groups = _doc_body(example(2))
    assert len(body) == 60 and data_groups == 24
    assert decoded[:60] == body and not any(decoded[60:])

    # §1/§3 packing: 5 bits a character of the lower-case alphabet, zero-padded to whole bytes.
    bits = "".join(format(sharecode.TEXT_ALPHABET.index(c), "05b") for c in passphrase)
    bits += "0" * (-len(bits) % 8)
    assert int(bits, 2).to_bytes(len(bits) // 8, "big").hex() == packed_hex
    assert len(packed_hex) // 2 == 33 and body[13] == 52

    # §3 commitment: key = the set id's 5 bytes; M = body bytes 0 .. 13+L with the index zeroed.
    label_len = body[12]
    m = bytearray(body[: 14 + label_len])
    m[11] = 0
    assert m.hex() == m_hex
    assert body[:5].hex() == key_hex
    tag = hmac.new(body[:5], b"hsmconsole share commitment v1\x00" + m + passphrase.encode(), hashlib.sha256)
    assert tag.digest()[:8].hex() == commitment_hex == body[48:56].hex()
    assert hashlib.sha256(b"HSMC1" + body[:56]).digest()[:4] == body[56:60]
    fp = hashlib.sha256(b"hsmconsole share fingerprint v1\x00" + body).digest()[:5]
    fp_text = base64.b32encode(fp).decode().translate(
        str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", sharecode.TEXT_ALPHABET)
    )
    assert f"{fp_text[:4]}-{fp_text[4:]}" == "xny9-tg2g"
    assert "Share 2 of 5, fingerprint `xny9-tg2g`" in doc

    # And our code agrees with all of it.
    shares = [decode_share(example(n), source=f"example {n}") for n in (1, 2, 4)]
    assert [s.index for s in shares] == [1, 2, 4]
    assert shares[1].fingerprint == "xny9-tg2g" and shares[1].set.set_id == "7KQ2MX4P"
    assert shares[1].set.commitment.hex() == commitment_hex
    assert combine_shares(shares).reveal_str() == passphrase
    with pytest.raises(ShareFormatError) as exc:
        decode_share(example(2).replace("0D6KV", "006KV"))
    assert (exc.value.group, exc.value.line) == (7, 2)
    assert "group 7 (line 2, 2nd group) has a typo" in exc.value.title
    # §2: group 1 reads like any other group, so look-alikes of HSMC1 are accepted.
    assert encode_share(decode_share(example(2).replace("HSMC1", "hsmcl"))) == encode_share(shares[1])


# --- telling our shares from raw base64 ones ----------------------------------------------------


def test_a_share_with_a_look_alike_prefix_pasted_without_spaces_is_ours() -> None:
    share = split_secret(generate_passphrase(), threshold=2, count=3)[0]
    text = compact(encode_share(share).reveal_str())
    for variant in (text.lower().replace("hsmc1", "hsmcl"), text.replace("HSMC1", "HSMCI")):
        parsed = parse_shares(variant)
        assert isinstance(parsed[0], Share) and encode_share(parsed[0]) == encode_share(share)
    for typo in ("HSMD1", "HSC1", "HSMCC1", "SHMC1", "HSMC2"):
        with pytest.raises(ShareFormatError) as exc:
            parse_shares(typo + text[5:], source="bob.txt")
        assert exc.value.group == 1 and "bob.txt" in exc.value.title


def test_raw_base64_shares_are_still_raw() -> None:
    # 15-byte parts are 20 base64 characters without padding: about a quarter use only share
    # characters, so the group checks, not the letters, must tell them from ours.
    # By design (sharecode.looks_like_share) text of share characters whose 2nd and 3rd groups
    # pass their checks (1 in 1024) is read as ours: such a raw share is refused with a message,
    # never combined wrongly. So about 1 in 4,000 parts here is refused; more than 3 would be a bug.
    only_share_characters = refused = 0
    for _ in range(200):
        part = base64.b64encode(bytes(pyshamir.split(b"fourteen bytes", 3, 2)[0])).decode()
        try:
            parsed = parse_shares(part + "\n", source="vault")
        except ShareFormatError:
            refused += 1
            continue
        assert isinstance(parsed[0], RawShare)
        only_share_characters += all(c in ALPHABET + ALPHABET.lower() + "OoIiLl" for c in part)
    assert only_share_characters > 10 and refused <= 3
    two = [base64.b64encode(bytes(p)).decode() for p in pyshamir.split(b"x" * 30, 2, 2)]
    assert all(isinstance(p, RawShare) for p in parse_shares(f"{two[0]}\n\n{two[1]}\n"))


@given(st.integers(min_value=2, max_value=25), st.sampled_from([" ", "", "\n"]))
def test_a_typo_is_placed_on_the_paper_whatever_the_typed_layout(group: int, sep: str) -> None:
    # A quorum-entry field holds one line: the message must still point at the paper's line and
    # column (five groups a line), not at "line 1" of what was typed.
    share = split_secret(Secret(b"k" * 48), threshold=2, count=2)[0]
    groups = encode_share(share).reveal_str().split()
    assume(group <= len(groups))
    wrong = groups[group - 1][:-1] + ("A" if groups[group - 1][-1] != "A" else "B")
    typed = sep.join([*groups[: group - 1], wrong, *groups[group:]])
    with pytest.raises(ShareFormatError) as exc:
        decode_share(typed)
    line, col = divmod(group - 1, 5)
    assert f"(line {line + 1}, {('1st', '2nd', '3rd', '4th', '5th')[col]} group)" in exc.value.title


def test_a_blank_line_inside_a_share_is_harmless_and_lines_are_of_the_whole_text() -> None:
    a, b = (encode_share(s).reveal_str() for s in split_secret(generate_passphrase(), threshold=2, count=2))
    lines = a.splitlines()
    broken = "\n".join([*lines[:2], "", *lines[2:]]) + "\n\n" + b
    first, second = parse_shares(broken, source="f")
    assert isinstance(first, Share) and isinstance(second, Share)
    assert [first.source, second.source] == ["f#1", "f#2"]
    typo = b.replace(b.split()[8], "00000", 1)
    with pytest.raises(ShareFormatError) as exc:
        parse_shares(a + "\n" + typo, source="f")
    assert exc.value.group == 9 and exc.value.line == len(lines) + 3 and "f#2" in exc.value.title
