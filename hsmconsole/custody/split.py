"""Split a Secret into custodian shares, and combine them back refusing mixed, altered or too few shares."""

from __future__ import annotations

import collections
import hmac
from collections.abc import Sequence

import pyshamir

from hsmconsole.custody.shamir import recover
from hsmconsole.custody.sharecode import ALPHABET, is_packable_text, pack_text, unpack_text
from hsmconsole.custody.shares import (
    MAX_SECRET,
    MAX_SHARES,
    SET_ID_RE,
    PayloadEncoding,
    SecretKind,
    SetRef,
    Share,
    ShareSet,
    check_label,
    new_set_id,
    with_commitment,
)
from hsmconsole.errors import InputError, IntegrityError
from hsmconsole.secrets import Secret


def split_secret(
    secret: Secret,
    *,
    threshold: int,
    count: int,
    kind: SecretKind = SecretKind.UNLOCK,
    label: str = "",
    set_id: str | None = None,
    generation: int = 1,
) -> tuple[Share, ...]:
    """Split `secret` into `count` shares of which any `threshold` recover it.

    Rotation keeps `set_id` and raises `generation`, which voids the older shares.
    """
    if not 2 <= threshold <= count <= MAX_SHARES:
        raise InputError(
            f"cannot split {threshold} of {count}",
            f"Choose 2 <= threshold <= shares <= {MAX_SHARES}.",
        )
    check_label(kind, label)
    set_id = new_set_id() if set_id is None else set_id.upper()
    if not SET_ID_RE.fullmatch(set_id):
        raise InputError("a set id is 8 characters of the share alphabet", f"Alphabet: {ALPHABET}")
    if not 1 <= generation <= 0xFFFF:
        raise InputError("the generation must be between 1 and 65535")
    if not 1 <= len(secret) <= MAX_SECRET:
        raise InputError(f"a secret to split must be 1 to {MAX_SECRET} bytes long")
    value = secret.reveal()
    encoding = PayloadEncoding.TEXT if is_packable_text(value) else PayloadEncoding.RAW
    packed = pack_text(value) if encoding is PayloadEncoding.TEXT else value
    meta = ShareSet(
        set_id, generation, kind, label, threshold, count, encoding, len(value), b"\0" * 8
    )
    meta = with_commitment(meta, value)
    parts = pyshamir.split(packed, count, threshold)
    shares = tuple(Share(meta, i + 1, Secret(part, "share")) for i, part in enumerate(parts))
    for part in parts:
        part[:] = bytes(len(part))
    # Never hand out shares that would not give the secret back.
    check = combine_shares(shares[:threshold])
    if check != secret:
        raise IntegrityError("splitting failed its own check", "This is a bug; nothing was written.")
    check.wipe()
    return shares


def combine_shares(shares: Sequence[Share], *, expect: SetRef | None = None) -> Secret:
    """Recover the secret, or refuse naming the offending share. Never returns a wrong secret."""
    if not shares:
        raise InputError("no shares to combine")
    ref = _reference(shares)
    _check_same_set(shares, ref)
    meta = ref.set
    if expect is not None and meta.ref != expect:
        raise InputError(
            f"these shares are of set {meta.set_id} generation {meta.generation}, "
            f"not the expected set {expect.set_id} generation {expect.generation}",
            "Use the shares of the current generation; older ones were voided by rotation.",
        )
    _check_duplicates(shares)
    if len(shares) < meta.threshold:
        raise InputError(
            f"only {len(shares)} share(s) given; the {meta.describe()} needs {meta.threshold}",
            f"Bring {meta.threshold - len(shares)} more share(s) of set {meta.set_id}.",
        )
    value = _recover(shares)
    if value is not None:
        return Secret(value, meta.secret_name)
    # The result does not match the commitment. With spare shares, find the one that does not fit.
    if len(shares) > meta.threshold:
        for i, suspect in enumerate(shares):
            others = [s for j, s in enumerate(shares) if j != i]
            if _recover(others) is not None:
                raise IntegrityError(
                    f"{suspect.name} does not fit with the other shares of set {meta.set_id}",
                    "Its checksums are intact, so it was altered on purpose or made wrongly; "
                    "leave it out and report it.",
                )
    raise IntegrityError(
        f"the shares do not give back the secret of set {meta.set_id} (commitment mismatch)",
        "At least one share was altered after it was made (its checksums are intact, so this is "
        "not a typo). Combining with one more share than the threshold names the altered one.",
    )


def _reference(shares: Sequence[Share]) -> Share:
    """The first share of the most common set: the others are judged against it."""
    counts = collections.Counter(s.set for s in shares)
    top = max(counts.values())
    return next(s for s in shares if counts[s.set] == top)


def _check_same_set(shares: Sequence[Share], ref: Share) -> None:
    r = ref.set
    for s in shares:
        m = s.set
        if m == r:
            continue
        if m.set_id != r.set_id:
            raise InputError(
                f"{s.name} belongs to set {m.set_id}, but {ref.name} to set {r.set_id}",
                "Shares of different splits never combine, even of the same secret: "
                "use shares of one set only.",
            )
        if m.generation != r.generation:
            old, new = (s, ref) if m.generation < r.generation else (ref, s)
            raise InputError(
                f"{s.name} is generation {m.generation} of set {m.set_id}, "
                f"but {ref.name} is generation {r.generation}",
                f"Generation {old.set.generation} was voided when the set was rotated to "
                f"generation {new.set.generation}: use shares of the newest generation.",
            )
        if (m.kind, m.label) != (r.kind, r.label):
            raise InputError(
                f"{s.name} is a share of the {m.secret_name}, but {ref.name} of the {r.secret_name}",
                "Combine shares of one secret at a time.",
            )
        counts = collections.Counter(x.set for x in shares)
        if counts[m] < counts[r]:
            # A majority agrees on the split: the odd one out is the altered share.
            raise IntegrityError(
                f"{s.name} disagrees with {counts[r]} other shares about the split of set {r.set_id}: "
                "it was altered",
                "Same set, different threshold, count or commitment, with intact checksums: it was "
                "changed on purpose or made wrongly. Leave it out and report it.",
            )
        # No majority: either may be the altered one, so neither is blamed (the first given is no
        # more trustworthy than the second).
        raise IntegrityError(
            f"{ref.name} and {s.name} disagree about the split of set {r.set_id}: one of them "
            "was altered, and these shares alone cannot tell which",
            "Same set, different threshold, count or commitment, with intact checksums. Add a "
            "third share of the set: the one that disagrees with the others is the altered one.",
        )


def _check_duplicates(shares: Sequence[Share]) -> None:
    by_index: dict[int, Share] = {}
    by_x: dict[int, Share] = {}
    for s in shares:
        other = by_index.get(s.index)
        if other is not None:
            if hmac.compare_digest(other.payload.reveal(), s.payload.reveal()):
                raise InputError(
                    f"{s.name} is the same share as {other.name}",
                    "Each share counts once: bring a different custodian's share.",
                )
            raise IntegrityError(
                f"{s.name} and {other.name} are different shares with the same index",
                "One of them was altered or forged: check where each came from.",
            )
        other = by_x.get(s.x)
        if other is not None:
            raise IntegrityError(
                f"{s.name} and {other.name} have the same x coordinate",
                "One of them was altered or forged: check where each came from.",
            )
        by_index[s.index] = s
        by_x[s.x] = s


def _recover(shares: Sequence[Share]) -> bytes | None:
    """The secret if the shares reproduce the commitment, else None."""
    meta = shares[0].set
    payloads = [s.payload.reveal() for s in shares]
    if len({len(p) for p in payloads}) != 1:
        return None
    packed = recover(payloads)
    if meta.encoding is PayloadEncoding.TEXT:
        value = unpack_text(packed, meta.secret_length)
        if value is None:
            return None
    else:
        value = packed
    if len(value) != meta.secret_length:
        return None
    if not hmac.compare_digest(with_commitment(meta, value).commitment, meta.commitment):
        return None
    return value


__all__ = ["combine_shares", "split_secret"]
