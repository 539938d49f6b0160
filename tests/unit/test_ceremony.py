"""The ceremony state machine: plan checks, turns, random confirmation, wiping, and the report."""

from __future__ import annotations

import itertools

import pytest

from hsmconsole.ceremony import (
    Ceremony,
    CeremonyPlan,
    InitialUser,
    Phase,
    SecretPolicy,
    TurnState,
    check_person_name,
)
from hsmconsole.ceremony_report import render_report
from hsmconsole.errors import InputError, StateError
from hsmconsole.models import UserRole
from hsmconsole.shares import SecretKind, combine_shares, decode_share, encode_share

NAMES = ("Alice", "Bob", "Carol")


def _plan(**kw: object) -> CeremonyPlan:
    users = (InitialUser("backup", UserRole.BACKUP, "Backup user", "Carol"),)
    return CeremonyPlan.single_group(NAMES, 2, users=users, **kw)  # type: ignore[arg-type]


def _run_turns(c: Ceremony) -> dict[str, list[str]]:
    """Play every custodian's turn, answering the challenge right; return the share texts seen."""
    seen: dict[str, list[str]] = {}
    while (turn := c.current_turn) is not None:
        c.reveal(turn.custodian)
        seen[turn.custodian] = [s.text.reveal_str() for s in turn.shares]
        ch = c.challenge(turn.custodian)
        if ch.share_pos >= 0:
            groups = turn.shares[ch.share_pos].groups
            typed = " ".join(groups[g - 1] for g in ch.groups).lower()
            assert not c.confirm(turn.custodian, "WRONG WRONG")
            assert c.confirm(turn.custodian, typed)
        c.finish_turn(turn.custodian)
    return seen


def test_plan_problems_are_reported() -> None:
    assert _plan().problems() == []
    bad = CeremonyPlan(
        custodians=("Alice", "alice"),
        policies=(SecretPolicy(SecretKind.UNLOCK, 3, ("Alice", "Dave")),),
        witnesses=("Alice",),
        users=(InitialUser("admin", UserRole.OPERATOR, "x", "Zed"),),
    )
    text = " ".join(bad.problems())
    for fragment in ("same name", "witness", "admin passphrase", "backup passphrase", "Dave",
                     "threshold 3 of 2", "created by provisioning", "Zed"):
        assert fragment in text
    with pytest.raises(InputError, match="not complete"):
        Ceremony(bad)


def test_person_names() -> None:
    assert check_person_name("  Ada   Lovelace ") == "Ada Lovelace"
    for bad in ("", "1abc", "x" * 41, "Eve;rm -rf"):
        with pytest.raises(InputError):
            check_person_name(bad)


def test_turns_give_each_custodian_only_their_shares_and_any_two_recombine() -> None:
    c = Ceremony(_plan())
    c.generate()
    assert c.phase is Phase.TURNS
    expected = {k: s.reveal() for k, s in c.secrets.items()}
    seen = _run_turns(c)
    assert c.phase is Phase.READY
    assert list(seen) == list(NAMES)
    # Each custodian got one share of each secret; no two custodians saw the same share.
    all_texts = [t for texts in seen.values() for t in texts]
    assert all(len(texts) == 3 for texts in seen.values())
    assert len(set(all_texts)) == len(all_texts)
    # Any two custodians recover every secret; the ceremony still holds the secrets to provision.
    for a, b in itertools.combinations(NAMES, 2):
        for pos, kind in enumerate((SecretKind.UNLOCK, SecretKind.ADMIN, SecretKind.BACKUP)):
            shares = [decode_share(seen[a][pos]), decode_share(seen[b][pos])]
            assert shares[0].set.kind is kind
            assert combine_shares(shares).reveal() == expected[kind]
    # Share texts were dropped after each turn.
    assert all(t.shares == [] and t.state is TurnState.DONE for t in c.turns)
    assert len(c.issued) == 9


def test_out_of_turn_and_unconfirmed_are_refused() -> None:
    c = Ceremony(_plan())
    c.generate()
    with pytest.raises(StateError, match="not Bob's turn"):
        c.reveal("Bob")
    c.reveal("Alice")
    with pytest.raises(StateError, match="not confirmed"):
        c.finish_turn("Alice")
    with pytest.raises(StateError, match="challenge first"):
        c.confirm("Alice", "x")


def test_challenge_is_random_over_shares_and_groups() -> None:
    picks = set()
    for seed in range(40):
        values = iter([seed % 3, seed % 23, 0, 0, 0, 0])
        c = Ceremony(_plan(), rng=lambda n, v=values: next(v) % n)  # type: ignore[misc]
        c.generate()
        c.reveal("Alice")
        ch = c.challenge("Alice")
        picks.add((ch.share_pos, ch.groups))
        assert len(ch.groups) == 2 and ch.groups[1] == ch.groups[0] + 1
        # Never a group that every share of the set has in common (the header): re-typing those
        # would not show that this custodian's share was taken down.
        kind = c.turns[0].shares[ch.share_pos].kind
        texts = [t.reveal_str().split()[1:] for t in (encode_share(s) for s in c.share_sets[kind])]
        for g in ch.groups:
            assert len({row[g - 1] for row in texts}) > 1
    assert len(picks) > 10


def test_abort_wipes_every_secret() -> None:
    c = Ceremony(_plan())
    c.generate()
    c.reveal("Alice")
    secrets_held = [*c.secrets.values(), *c.user_secrets.values()]
    texts = [s.text for s in c.turns[0].shares]
    c.abort()
    assert c.phase is Phase.ABORTED
    assert all(s.wiped for s in secrets_held + texts)


def test_report_has_no_secret_and_names_every_share() -> None:
    c = Ceremony(_plan(witnesses=("Walter",), device_label="hsm-1"))
    c.generate()
    secret_values = [s.reveal_str() for s in [*c.secrets.values(), *c.user_secrets.values()]]
    seen = _run_turns(c)
    report = render_report(c, device_host="127.0.0.1:8443", device_fingerprint="AA:BB")
    for value in secret_values + [t for texts in seen.values() for t in texts]:
        assert value not in report
        groups = value.split()[1:]
        # One 5-character group could match part of a set id by chance; two in a row cannot.
        for a, b in itertools.pairwise(groups):
            assert a + b not in report.replace(" ", "") and f"{a} {b}" not in report
    for name, _kind, set_id, _gen, index, _k, fp in c.issued:
        assert name in report and set_id in report and fp in report
        assert f"{index} of 3" in report
    assert "Witness Walter" in report and "Custodian Carol" in report
    assert "| backup | Backup | Carol |" in report
