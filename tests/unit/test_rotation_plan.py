"""The rotation state machine and its journal records, without a device."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsmconsole.custody.shares import SecretKind, SetRef
from hsmconsole.custody.split import combine_shares, split_secret
from hsmconsole.errors import InputError, StateError
from hsmconsole.journal.chain import Journal
from hsmconsole.rotation.plan import Rotation, Step, make_plan
from hsmconsole.rotation.record import (
    RotationRecorder,
    current_generation,
    read_rotations,
    used_generations,
    void_reason,
)
from hsmconsole.secrets import Secret

OLD = SetRef("ABCDEFGH", 1)
NAMES = st.sampled_from(["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "alice", "BOB"])


@settings(max_examples=200, deadline=None)
@given(st.lists(NAMES, max_size=7), st.integers(-2, 9))
def test_make_plan_accepts_exactly_the_valid_rosters(names: list[str], k: int) -> None:
    folded = [n.casefold() for n in names]
    valid = len(set(folded)) == len(folded) and len(names) >= 2 and 2 <= k <= len(names)
    if valid:
        plan = make_plan(SecretKind.UNLOCK, OLD, names, k)
        assert plan.target == SetRef(OLD.set_id, 2) and plan.count == len(names)
    else:
        with pytest.raises(InputError):
            make_plan(SecretKind.UNLOCK, OLD, names, k)


def test_generation_never_reuses_one_handed_out_before() -> None:
    plan = make_plan(SecretKind.ADMIN, OLD, ["Bob", "Carol"], 2, used_generations=[1, 2, 3])
    assert plan.generation == 4 and plan.target != OLD


def test_quorum_of_another_secret_refused() -> None:
    shares = split_secret(Secret("adminadmin"), threshold=2, count=2, kind=SecretKind.ADMIN)
    with pytest.raises(InputError, match="admin passphrase"):
        make_plan(SecretKind.UNLOCK, shares[0].set, ["Bob", "Carol"], 2)


def _rotation(rng_value: int = 0) -> Rotation:
    plan = make_plan(SecretKind.UNLOCK, OLD, ["Bob", "Carol", "Dave"], 2)
    return Rotation(plan, Secret("unlockunlock"), rng=lambda n: rng_value % n)


def test_new_secret_is_fresh_and_split_to_the_new_generation() -> None:
    rotation = _rotation()
    rotation.generate()
    shares = [h.share for h in rotation.handouts]
    assert {s.set.ref for s in shares} == {SetRef(OLD.set_id, 2)}
    assert [h.custodian for h in rotation.handouts] == ["Bob", "Carol", "Dave"]
    assert rotation.new_secret is not None
    back = combine_shares(shares[:2])
    assert back == rotation.new_secret and back != Secret("unlockunlock")


def test_turns_in_order_and_the_device_only_after_all_confirmed() -> None:
    rotation = _rotation()
    rotation.generate()
    with pytest.raises(StateError):
        rotation.begin_change()
    with pytest.raises(StateError, match="not Carol's turn"):
        rotation.challenge("Carol")
    for h in list(rotation.handouts):
        ask = rotation.challenge(h.custodian)
        rows = [line.split() for line in h.text.reveal_str().splitlines() if line.strip()]
        assert rotation.confirm(h.custodian, ["WRONG"]) == (False,)
        with pytest.raises(StateError):
            rotation.finish_turn(h.custodian)
        group = rows[ask.line - 1][ask.column - 1]
        assert rotation.confirm(h.custodian, [f" {group.lower()} "]) == (True,)
        rotation.finish_turn(h.custodian)
        assert h.text.wiped and h.failed_confirmations == 1
    assert rotation.step is Step.DISTRIBUTED
    old, new = rotation.begin_change()
    assert old != new
    with pytest.raises(StateError, match="may already have"):
        rotation.discard()
    rotation.changed()
    rotation.verified()
    rotation.voided()
    assert rotation.step is Step.DONE and new.wiped and old.wiped


def test_challenge_never_asks_a_header_group() -> None:
    for value in range(40):
        rotation = _rotation(value)
        rotation.generate()
        h = rotation.handouts[0]
        ask = rotation.challenge(h.custodian)
        groups = {
            tuple(line.split())[ask.column - 1]
            for other in rotation.handouts
            for n, line in enumerate(other.text.reveal_str().splitlines(), 1)
            if n == ask.line
        }
        assert len(groups) > 1  # the asked place differs between the shares
        rotation.wipe()


def test_discard_before_the_device_wipes_everything() -> None:
    rotation = _rotation()
    rotation.generate()
    rotation.discard()
    assert rotation.step is Step.DISCARDED and rotation.old_secret.wiped
    assert all(h.text.wiped for h in rotation.handouts)


def test_journal_round_trip_and_voids(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    plan = make_plan(SecretKind.BACKUP, OLD, ["Bob", "Carol", "Dave"], 2)
    rec = RotationRecorder(journal, "dev", plan)
    rec.add("rotation.planned", roster=True)
    rec.add("rotation.split")
    rec.add("rotation.discarded")
    plan3 = make_plan(SecretKind.BACKUP, OLD, ["Bob", "Carol"], 2, used_generations=[2])
    rec3 = RotationRecorder(journal, "dev", plan3)
    for action in ("planned", "split", "distributed", "changing", "changed", "verified", "void"):
        rec3.add(f"rotation.{action}", roster=action == "planned")
    RotationRecorder(journal, "other-device", plan).add("rotation.planned", roster=True)
    records = read_rotations(journal, "dev")
    assert [(r.new_generation, r.step) for r in records] == [(2, Step.DISCARDED), (3, Step.DONE)]
    assert records[0].holders == ("Bob", "Carol", "Dave") and records[0].threshold == 2
    assert current_generation(records, OLD.set_id) == 3
    assert sorted(set(used_generations(records, OLD.set_id))) == [1, 2, 3]
    assert "rotated to generation 3" in (void_reason(records, OLD) or "")
    assert void_reason(records, SetRef(OLD.set_id, 2)) is not None
    assert "discarded" in (void_reason(records[:1], SetRef(OLD.set_id, 2)) or "")
    assert void_reason(records[:1], OLD) is None  # a discarded rotation leaves the old set valid
    assert void_reason(records, SetRef(OLD.set_id, 3)) is None
    assert void_reason(records, SetRef("ZZZZZZZZ", 1)) is None


def test_credential_ages_from_the_journal_and_the_profile_limit(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from hsmconsole.device.profiles import Profile, ProfileStore
    from hsmconsole.journal.chain import JournalEvent, Outcome
    from hsmconsole.rotation.age import ages_line, credential_ages

    start = datetime(2025, 1, 1, tzinfo=UTC)
    moments = iter([start, start + timedelta(days=300), start + timedelta(days=301)])
    journal = Journal(tmp_path / "j.jsonl", clock=lambda: next(moments))
    journal.append(JournalEvent("ceremony", "ceremony.provisioned", Outcome.OK, device_id="dev"))
    plan = make_plan(SecretKind.UNLOCK, OLD, ["Bob", "Carol"], 2)
    RotationRecorder(journal, "dev", plan).add("rotation.verified")
    RotationRecorder(journal, "dev", plan).add("rotation.verified", Outcome.FAILED)  # does not count
    now = start + timedelta(days=400)
    ages = {a.name: a for a in credential_ages(journal.entries(), "dev", limit_days=365, now=now)}
    assert (ages["unlock"].age_days, ages["unlock"].too_old) == (100, False)
    assert (ages["admin"].age_days, ages["admin"].too_old) == (400, True)
    assert credential_ages(journal.entries(), "other", limit_days=365, now=now)[0].age_days is None
    assert ages_line(list(ages.values()), 365).startswith("unlock 100 d, admin 400 d OLD")
    # The limit lives in the profile, survives a save, and an unusable one is refused.
    store = ProfileStore(tmp_path / "config")
    store.save(Profile("lab", "192.0.2.10", credential_max_age_days=90))
    store.save(Profile("other", "192.0.2.11"))
    assert store.get("lab").credential_max_age_days == 90
    assert store.get("other").credential_max_age_days == 365
    assert "credential_max_age_days" not in store.path.read_text().split("[profiles.other]")[1]
    with pytest.raises(InputError, match="not usable"):
        Profile("bad", "192.0.2.12", credential_max_age_days=0)
