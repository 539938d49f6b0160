"""Split and combine: any K of N give the secret back; everything else is refused by name."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import random

import pyshamir
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsmconsole.custody import passgen
from hsmconsole.custody.shares import (
    PayloadEncoding,
    RawShare,
    SecretKind,
    SetRef,
    Share,
    ShareFormatError,
    combine_raw_shares,
    decode_raw_share,
    decode_share,
    encode_share,
    parse_shares,
)
from hsmconsole.custody.split import combine_shares, split_secret
from hsmconsole.errors import InputError, IntegrityError
from hsmconsole.secrets import Secret

secrets_st = st.one_of(
    st.binary(min_size=1, max_size=48),
    st.text(alphabet=passgen.ALPHABET, min_size=1, max_size=80).map(str.encode),
)
k_n_st = st.integers(2, 16).flatmap(lambda n: st.tuples(st.integers(2, n), st.just(n)))


def roundtrip(share: Share, source: str = "") -> Share:
    """Through text and back, as a custodian's share travels."""
    return decode_share(encode_share(share), source=source)


# --- secret generation -----------------------------------------------------------------------


def test_generated_passphrases_fit_the_nethsm_and_carry_256_bits() -> None:
    seen = set()
    for _ in range(200):
        p = passgen.generate_passphrase()
        value = p.reveal_str()
        assert len(value) == 52 and set(value) <= set(passgen.ALPHABET)
        assert passgen.fits_nethsm(p)
        seen.add(value)
    assert len(seen) == 200
    assert len(passgen.ALPHABET) == 32 and len(value) * passgen.BITS_PER_CHAR >= 256
    # no look-alikes (o/0, i/l/1), no shift key, nothing a shell would interpret
    assert not set(passgen.ALPHABET) & set("oilu")
    assert passgen.ALPHABET.isascii() and passgen.ALPHABET.isalnum()
    assert not any(c.isupper() for c in passgen.ALPHABET)
    with pytest.raises(ValueError):
        passgen.generate_passphrase(128)


def test_generated_passphrase_shares_are_packed() -> None:
    shares = split_secret(passgen.generate_passphrase(), threshold=3, count=5)
    assert shares[0].set.encoding is PayloadEncoding.TEXT
    assert len(encode_share(shares[0]).reveal_str().split()) == 25


# --- combining -------------------------------------------------------------------------------


def _refused_as_too_few(subset: list[Share], k: int) -> None:
    with pytest.raises(InputError) as exc:
        combine_shares(subset)
    assert type(exc.value) is InputError  # too few is a refusal, not an integrity failure
    assert exc.value.title.startswith(f"only {len(subset)} share(s) given; the ")
    assert exc.value.title.endswith(f"needs {k}")
    assert f"Bring {k - len(subset)} more share(s)" in exc.value.hint


def test_every_subset_exhaustively_for_small_n() -> None:
    """Every subset of every K-of-N split with N <= 7: any K or more give the secret back, fewer
    are refused as too few: 522 combines and 741 refusals (a short passphrase keeps them quick)."""
    secret = Secret("k7w2c9hzq8")  # packed: 7 bytes
    for n in range(2, 8):
        for k in range(2, n + 1):
            shares = [roundtrip(s) for s in split_secret(secret, threshold=k, count=n)]
            for size in range(1, n + 1):
                for subset in itertools.combinations(shares, size):
                    if size >= k:
                        assert combine_shares(list(subset)) == secret
                    else:
                        _refused_as_too_few(list(subset), k)


def test_every_4_subset_of_a_4_of_8_split_of_a_key() -> None:
    key = Secret(bytes(range(100, 132)))
    shares = [
        roundtrip(s)
        for s in split_secret(key, threshold=4, count=8, kind=SecretKind.CUSTOM, label="wrap key.2")
    ]
    for subset in itertools.combinations(shares, 4):
        assert combine_shares(list(subset)) == key
    for subset in itertools.combinations(shares, 3):
        _refused_as_too_few(list(subset), 4)


@settings(max_examples=25)
@given(secret=secrets_st, k_n=k_n_st.filter(lambda kn: kn[1] >= 8), seed=st.integers(0, 2**32))
def test_any_k_of_n_reconstruct_and_k_minus_1_are_refused(
    secret: bytes, k_n: tuple[int, int], seed: int
) -> None:
    """Sampled for 8 <= N <= 16, where every subset would take too long (smaller N are exhaustive
    above): a random K-subset and a random larger one combine; a random K-1 subset is refused."""
    k, n = k_n
    rng = random.Random(seed)
    shares = [roundtrip(s) for s in split_secret(Secret(secret), threshold=k, count=n)]
    for size in (k, rng.randint(k, n)):
        assert combine_shares(rng.sample(shares, size)).reveal() == secret
    _refused_as_too_few(rng.sample(shares, k - 1), k)


def test_mixed_sets_of_the_same_secret_are_refused_naming_the_odd_share() -> None:
    secret = passgen.generate_passphrase()
    a = [roundtrip(s, f"a{s.index}") for s in split_secret(secret, threshold=3, count=5)]
    b = [roundtrip(s, f"b{s.index}") for s in split_secret(secret, threshold=3, count=5)]
    with pytest.raises(InputError) as exc:
        combine_shares([a[0], b[1], a[2]])
    assert "(b2)" in exc.value.title and "set" in exc.value.title
    # even with enough shares of one set, an odd one out is refused
    with pytest.raises(InputError, match=r"\(b3\)"):
        combine_shares([a[0], a[1], b[2], a[3]])


@settings(max_examples=30)
@given(secret=secrets_st, k_n=k_n_st, seed=st.integers(0, 2**32))
def test_any_mix_of_two_splits_is_refused_naming_a_stranger(
    secret: bytes, k_n: tuple[int, int], seed: int
) -> None:
    k, n = k_n
    rng = random.Random(seed)
    a = [roundtrip(s, f"a{s.index}") for s in split_secret(Secret(secret), threshold=k, count=n)]
    b = [roundtrip(s, f"b{s.index}") for s in split_secret(Secret(secret), threshold=k, count=n)]
    from_a = rng.randint(1, n)
    mix = rng.sample(a, from_a) + rng.sample(b, rng.randint(1, n))
    rng.shuffle(mix)
    with pytest.raises(InputError) as exc:
        combine_shares(mix)
    assert "different splits" in exc.value.hint
    assert "(a" in exc.value.title and "(b" in exc.value.title


def test_older_generation_is_refused() -> None:
    secret = passgen.generate_passphrase()
    g1 = split_secret(secret, threshold=2, count=3)
    g2 = split_secret(secret, threshold=2, count=3, set_id=g1[0].set.set_id, generation=2)
    with pytest.raises(InputError) as exc:
        combine_shares([g2[0], g1[1]])
    assert "generation 1" in exc.value.title and "voided" in exc.value.hint
    with pytest.raises(InputError, match="expected"):
        combine_shares(g1[:2], expect=SetRef(g1[0].set.set_id, 2))
    assert combine_shares(g2[:2], expect=g2[0].set.ref) == secret


def test_shares_of_different_secrets_in_one_set_are_refused() -> None:
    unlock = split_secret(passgen.generate_passphrase(), threshold=2, count=3)
    admin = split_secret(
        passgen.generate_passphrase(), threshold=2, count=3,
        kind=SecretKind.ADMIN, set_id=unlock[0].set.set_id,
    )  # fmt: skip
    with pytest.raises(InputError, match="admin passphrase"):
        combine_shares([unlock[0], admin[1]])


def test_duplicates_are_refused() -> None:
    shares = split_secret(passgen.generate_passphrase(), threshold=3, count=5)
    with pytest.raises(InputError, match="same share"):
        combine_shares([shares[0], roundtrip(shares[1], "copy"), roundtrip(shares[1], "again")])


def _forge(share: Share, **changes: object) -> Share:
    """A share with other fields but valid checksums: what an attacker, not a typo, produces."""
    payload = changes.pop("payload", share.payload)
    meta = dataclasses.replace(share.set, **changes)  # type: ignore[arg-type]
    return roundtrip(Share(meta, share.index, payload), "forged")  # type: ignore[arg-type]


def test_altered_payload_fails_the_commitment_and_spare_shares_name_it() -> None:
    secret = passgen.generate_passphrase()
    shares = split_secret(secret, threshold=3, count=5)
    raw = bytearray(shares[1].payload.reveal())
    raw[0] ^= 0x40
    forged = _forge(shares[1], payload=Secret(raw))
    with pytest.raises(IntegrityError, match="commitment"):
        combine_shares([shares[0], forged, shares[2]])
    with pytest.raises(IntegrityError) as exc:
        combine_shares([shares[0], forged, shares[2], shares[3]])
    assert "(forged)" in exc.value.title


def test_altered_header_is_refused() -> None:
    shares = split_secret(passgen.generate_passphrase(), threshold=3, count=5)
    with pytest.raises(IntegrityError, match="disagrees"):
        combine_shares([shares[0], _forge(shares[1], threshold=2), shares[2]])
    # every share lowered to 2-of-5: the commitment binds the threshold, so 2 shares still fail
    lowered = [_forge(s, threshold=2) for s in shares[:2]]
    with pytest.raises(IntegrityError):
        combine_shares(lowered)


def test_same_index_different_payload_is_integrity_error() -> None:
    secret = passgen.generate_passphrase()
    shares = split_secret(secret, threshold=2, count=3)
    raw = bytearray(shares[1].payload.reveal())
    raw[0] ^= 1
    with pytest.raises(IntegrityError, match="same index"):
        combine_shares([shares[1], _forge(shares[1], payload=Secret(raw))])


def test_split_refuses_bad_parameters() -> None:
    secret = passgen.generate_passphrase()
    for k, n in ((1, 3), (4, 3), (2, 256)):
        with pytest.raises(InputError):
            split_secret(secret, threshold=k, count=n)
    with pytest.raises(InputError):
        split_secret(secret, threshold=2, count=3, kind=SecretKind.CUSTOM)
    with pytest.raises(InputError):
        split_secret(secret, threshold=2, count=3, label="x")
    with pytest.raises(InputError):
        split_secret(Secret(b""), threshold=2, count=3)
    with pytest.raises(InputError):
        split_secret(Secret(b"x" * 256), threshold=2, count=3)


def test_custom_secret_keeps_its_label() -> None:
    key = Secret(bytes(range(32)))
    shares = split_secret(key, threshold=2, count=2, kind=SecretKind.CUSTOM, label="signing-key")
    back = [roundtrip(s) for s in shares]
    assert back[0].set.label == "signing-key" and back[0].set.encoding is PayloadEncoding.RAW
    assert combine_shares(back) == key


def test_fingerprints_differ_between_shares_and_are_stable() -> None:
    shares = split_secret(passgen.generate_passphrase(), threshold=2, count=5)
    fps = [s.fingerprint for s in shares]
    assert len(set(fps)) == 5
    assert [roundtrip(s).fingerprint for s in shares] == fps


# --- raw base64 shares -----------------------------------------------------------------------


def test_raw_base64_shares_from_pyshamir_combine_with_a_threshold() -> None:
    secret = b"correct horse battery staple"
    parts = [base64.b64encode(bytes(p)).decode() for p in pyshamir.split(secret, 5, 3)]
    text = "\n\n".join(parts[:3])
    parsed = parse_shares(text, source="vault.txt")
    assert all(isinstance(p, RawShare) for p in parsed)
    raw = [p for p in parsed if isinstance(p, RawShare)]
    assert combine_raw_shares(raw, threshold=3).reveal() == secret
    with pytest.raises(InputError):
        combine_raw_shares(raw[:2], threshold=3)
    # a spare share from another split is caught by cross-checking
    other = decode_raw_share(base64.b64encode(bytes(pyshamir.split(secret, 5, 3)[0])).decode())
    if other.x not in {r.x for r in raw}:
        with pytest.raises(IntegrityError):
            combine_raw_shares([*raw, other], threshold=3)
    with pytest.raises(ShareFormatError):
        decode_raw_share("not base64!")


def test_combine_refuses_empty_input() -> None:
    with pytest.raises(InputError):
        combine_shares([])


# --- files of many shares ----------------------------------------------------------------------


def test_a_file_of_many_shares_parses_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # Counted, not timed: every character the share decoder scans. A prefix of newlines per
    # share made a 1 MB file of 2,600 shares take a minute (quadratic in the number of shares).
    from hsmconsole.custody import sharecode

    shares = split_secret(Secret("many shares in one file"), threshold=2, count=2)
    one = encode_share(shares[0]).reveal_str()
    text = "\n\n".join([one] * 300)
    scanned = [0]
    real = sharecode._chunks

    def counting(t: str, name: str, first_line: int = 1) -> list[sharecode._Chunk]:
        scanned[0] += len(t)
        return real(t, name, first_line)

    monkeypatch.setattr(sharecode, "_chunks", counting)
    parsed = parse_shares(text, source="many.txt")
    assert len(parsed) == 300
    assert scanned[0] <= len(text)


def test_a_typo_in_a_later_share_names_its_line_in_the_whole_file() -> None:
    shares = split_secret(Secret("line numbers of a later share"), threshold=2, count=3)
    texts = [encode_share(s).reveal_str().strip("\n") for s in shares]
    lines = texts[2].split("\n")
    row = 1
    groups = lines[row].split(" ")
    groups[1] = groups[1][:-1] + ("A" if groups[1][-1] != "A" else "B")
    lines[row] = " ".join(groups)
    text = texts[0] + "\n\n" + texts[1] + "\n\n" + "\n".join(lines)
    first_line_of_third = texts[0].count("\n") + texts[1].count("\n") + 5
    with pytest.raises(ShareFormatError) as info:
        parse_shares(text, source="f.txt")
    assert info.value.line == first_line_of_third + row


def _names(text: str, *candidates: str) -> list[str]:
    return [c for c in candidates if c in text]


@pytest.mark.parametrize("forged_first", [True, False])
def test_a_forged_share_with_one_honest_share_blames_neither(forged_first: bool) -> None:
    shares = split_secret(passgen.generate_passphrase(), threshold=2, count=3)
    forged = _forge(shares[0], threshold=3)  # named "forged"
    honest = roundtrip(shares[1], "honest")
    pair = [forged, honest] if forged_first else [honest, forged]
    with pytest.raises(IntegrityError) as info:
        combine_shares(pair)
    title = info.value.title
    # Both named as the pair that disagrees; the message blames neither one alone.
    assert _names(title, "(forged)", "(honest)") == ["(forged)", "(honest)"] or _names(
        title, "(honest)", "(forged)"
    ) == ["(honest)", "(forged)"]
    assert "one of them was altered" in title


def test_a_forged_share_against_a_majority_is_named() -> None:
    shares = split_secret(passgen.generate_passphrase(), threshold=2, count=3)
    forged = _forge(shares[0], threshold=3)
    with pytest.raises(IntegrityError) as info:
        combine_shares([forged, roundtrip(shares[1], "honest1"), roundtrip(shares[2], "honest2")])
    assert "(forged)" in info.value.title and "honest" not in info.value.title
    assert "it was altered" in info.value.title
