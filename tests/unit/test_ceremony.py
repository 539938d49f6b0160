"""The ceremony state machine: plan checks, turns, random confirmation, wiping, and the report."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from hsmconsole.ceremony.plan import (
    Ceremony,
    CeremonyPlan,
    Challenge,
    DeviceIdentity,
    InitialUser,
    Phase,
    SecretPolicy,
    Turn,
    TurnState,
    check_person_name,
    paper_rows,
)
from hsmconsole.ceremony.report import render_report
from hsmconsole.ceremony.run import run_provisioning, tls_problems
from hsmconsole.custody.shares import SecretKind, decode_share, encode_share
from hsmconsole.custody.split import combine_shares
from hsmconsole.device.profiles import Profile
from hsmconsole.errors import InputError, StateError
from hsmconsole.models import UserRole

NAMES = ("Alice", "Bob", "Carol")


def _plan(**kw: object) -> CeremonyPlan:
    users = (InitialUser("backup", UserRole.BACKUP, "Backup user", "Carol"),)
    return CeremonyPlan.single_group(NAMES, 2, users=users, **kw)  # type: ignore[arg-type]


def _paper(turn: Turn) -> list[list[list[str]]]:
    """What the custodian copied: each page (shares, then user passphrases) as lines of groups."""
    pages = [paper_rows(s.text, passphrase=False) for s in turn.shares]
    return pages + [paper_rows(u.passphrase, passphrase=True) for u in turn.user_passphrases]


def _answers(turn: Turn, ch: Challenge) -> list[str]:
    paper = _paper(turn)
    return [paper[p.page][p.line - 1][p.column - 1] for p in ch.parts]


def _run_turns(c: Ceremony) -> dict[str, list[str]]:
    """Play every custodian's turn, answering the challenge right; return the share texts seen."""
    seen: dict[str, list[str]] = {}
    while (turn := c.current_turn) is not None:
        c.reveal(turn.custodian)
        seen[turn.custodian] = [s.text.reveal_str() for s in turn.shares]
        ch = c.challenge(turn.custodian)
        assert not all(c.confirm(turn.custodian, ["WRONG"] * len(ch.parts)))
        assert all(c.confirm(turn.custodian, [a.lower() for a in _answers(turn, ch)]))
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
        c.confirm("Alice", ["x"])


def test_challenge_asks_a_random_group_of_every_share_and_passphrase() -> None:
    picks: set[tuple[tuple[int, int], ...]] = set()
    for seed in range(40):
        values = iter(range(seed, seed + 10))
        c = Ceremony(_plan(), rng=lambda n, v=values: next(v) % n)  # type: ignore[misc]
        c.generate()
        carol = c.turns[2]
        layouts = {
            kind: [paper_rows(encode_share(s), passphrase=False) for s in shares]
            for kind, shares in c.share_sets.items()
        }
        for turn in c.turns[:2]:  # play Alice's and Bob's turns to get to Carol's
            c.reveal(turn.custodian)
            c.confirm(turn.custodian, _answers(turn, c.challenge(turn.custodian)))
            c.finish_turn(turn.custodian)
        c.reveal("Carol")
        ch = c.challenge("Carol")
        # One group of each of her pages: three shares, then the backup user's passphrase.
        assert [p.what for p in ch.parts] == [
            "UNLOCK share", "ADMIN share", "BACKUP share", "passphrase of user backup"
        ]
        assert [p.page for p in ch.parts] == [0, 1, 2, 3]
        assert [p.length for p in ch.parts] == [5, 5, 5, 4]
        picks.add(tuple((p.line, p.column) for p in ch.parts))
        # Never a share group every share of the set has in common (the header): re-typing those
        # would not show that this custodian's share was taken down.
        for part, issued in zip(ch.parts, carol.shares, strict=False):
            rows = layouts[issued.kind]
            assert len({r[part.line - 1][part.column - 1] for r in rows}) > 1
        # A whole group of the passphrase, as its page shows it.
        passphrase_rows = paper_rows(carol.user_passphrases[0].passphrase, passphrase=True)
        assert len(passphrase_rows[ch.parts[3].line - 1][ch.parts[3].column - 1]) == 4
    assert len(picks) > 10


def test_one_wrong_group_of_any_share_fails_the_confirmation() -> None:
    c = Ceremony(_plan())
    c.generate()
    alice = c.turns[0]
    c.reveal("Alice")
    ch = c.challenge("Alice")
    right = _answers(alice, ch)
    assert len(right) == 3  # Alice holds three shares and no user passphrase
    for wrong_at in range(3):
        typed = list(right)
        typed[wrong_at] = "ZZZZZ" if right[wrong_at] != "ZZZZZ" else "YYYYY"
        results = c.confirm("Alice", typed)
        assert results == tuple(i != wrong_at for i in range(3))
        assert alice.state is TurnState.REVEALED
    assert alice.failed_confirmations == 3
    assert c.confirm("Alice", [f" {a[:2]}-{a[2:].lower()} " for a in right]) == (True, True, True)
    assert alice.state is TurnState.CONFIRMED
    with pytest.raises(StateError, match="Expected 3 answers"):
        c.confirm("Alice", right[:2])


def _ready() -> Ceremony:
    c = Ceremony(_plan())
    c.generate()
    _run_turns(c)
    assert c.phase is Phase.READY
    return c


def test_abort_before_provisioning_began_wins_and_nothing_can_begin_after() -> None:
    c = _ready()
    assert c.abort() is True
    assert c.phase is Phase.ABORTED and not c.secrets
    with pytest.raises(StateError, match="not ready"):
        c.begin_provisioning()


def test_abort_after_provisioning_began_is_refused_and_keeps_the_secrets() -> None:
    c = _ready()
    c.begin_provisioning()
    assert c.abort() is False
    assert c.phase is Phase.PROVISIONING and len(c.secrets) == 3


class _NoCallsClient:
    """Fails the test if run_provisioning talks to the device at all."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the device was called: {name}")


@pytest.mark.parametrize(
    "profile",
    [Profile("lab", "192.0.2.1:8443", insecure=True), Profile("lab", "192.0.2.1:8443")],
    ids=["insecure", "unpinned"],
)
def test_unpinned_connections_are_refused_before_anything_is_sent(profile: Profile) -> None:
    assert "pin it" in " ".join(tls_problems(profile))
    c = _ready()
    with pytest.raises(StateError, match="not pinned"):
        run_provisioning(c, _NoCallsClient(profile))  # type: ignore[arg-type]
    assert c.phase is Phase.READY and len(c.secrets) == 3  # untouched: may still be aborted
    assert tls_problems(Profile("lab", "192.0.2.1:8443", fingerprint="AA" * 32)) == []


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
    c.identity = DeviceIdentity("5UMIP364R2", "Nitrokey GmbH", "NetHSM", "3.0", "1.0", "2.1")
    c.certificate = "AA:BB"
    report = render_report(c, device_host="127.0.0.1:8443", device_fingerprint="AA:BB", profile_name="lab")
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
    # The device's own identity, not the profile name; the certificate re-checked after provisioning.
    assert "- Device id: 5UMIP364R2" in report and "profile lab" in report
    assert "hsm-1 at 127.0.0.1:8443" in report and "Nitrokey GmbH NetHSM (software 3.0" in report
    assert "AA:BB (pinned; the device presented it again after provisioning)" in report
