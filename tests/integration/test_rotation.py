"""Rotating device passphrases on the emulator over HTTPS: the 'Done when' scenario and every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmconsole.access.quorum import unlock_by_quorum
from hsmconsole.access.session import lock_device, start_session
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, SetRef, encode_share
from hsmconsole.custody.split import combine_shares
from hsmconsole.device.client import Credentials
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import AuthError, InputError, StateError
from hsmconsole.journal.chain import verify_journal
from hsmconsole.models import DeviceState
from hsmconsole.rotation import run
from hsmconsole.rotation.plan import Step
from hsmconsole.rotation.record import current_generation, read_rotations, void_reason
from hsmconsole.secrets import Secret
from tests.integration.rotation_helpers import (
    ADMIN,
    BACKUP,
    DEVICE_ID,
    UNLOCK,
    collect,
    distribute,
    make_bench,
    start,
)

pytestmark = pytest.mark.slow  # each test provisions an emulator and runs its scrypt


def test_done_when_unlock_2_of_3_to_3_of_4(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    bench = make_bench(provisioned, tmp_path)
    old_set = bench.old[SecretKind.UNLOCK][0].set
    rotation, recorder = start(bench)
    assert rotation.plan.target == SetRef(old_set.set_id, 2)
    run.generate(rotation, recorder)
    assert [h.custodian for h in rotation.handouts] == ["Bob", "Carol", "Dave", "Erin"]
    distribute(bench, rotation, recorder)
    assert rotation.step is Step.DISTRIBUTED
    seen: list[str] = []
    run.apply(
        rotation, recorder, bench.client, admin=bench.admin, progress=lambda d, t, label: seen.append(label)
    )
    assert rotation.step is Step.DONE and rotation.new_secret is not None and rotation.new_secret.wiped
    assert seen[-1] == "Done"

    # Lock, then quorum-unlock with three of the new shares (Bob, Dave, Erin).
    session = start_session(bench.client, bench.admin)
    lock_device(bench.client, session)
    assert bench.client.state() is DeviceState.LOCKED
    records = read_rotations(bench.journal, DEVICE_ID)
    expected = SetRef(old_set.set_id, current_generation(records, old_set.set_id) or 0)
    assert expected.generation == 2

    # Alice's old share: refused as void, before anything is sent.
    collector = ShareCollector(SecretKind.UNLOCK, expect=expected)
    alice = bench.old_paper(SecretKind.UNLOCK)["Alice"]
    with pytest.raises(InputError, match=r"generation 1.*voided by rotation"):
        collector.add(alice)
    assert void_reason(records, SetRef(old_set.set_id, 1)) is not None
    for text in (bench.paper[0], bench.paper[2], bench.paper[3]):
        collector.add(text)
    unlock_by_quorum(collector, bench.client)
    assert bench.client.state() is DeviceState.OPERATIONAL

    # The old set no longer opens the device, and old and new shares never combine.
    with pytest.raises(AuthError):
        bench.client.set_unlock_passphrase(bench.admin, Secret(UNLOCK), Secret(UNLOCK))
    old_share = bench.old[SecretKind.UNLOCK][1]
    new_shares = [collect(SecretKind.UNLOCK, [p]).shares[0] for p in bench.paper[:2]]
    with pytest.raises(InputError, match="generation"):
        combine_shares([old_share, *new_shares])

    actions = [e.event.action for e in bench.journal.entries()]
    assert actions == [
        "rotation.planned",
        "rotation.split",
        *["rotation.confirmed"] * 4,
        "rotation.distributed",
        "rotation.changing",
        "rotation.changed",
        "rotation.verified",
        "rotation.void",
    ]
    assert verify_journal(bench.journal.path).ok
    text = bench.journal.path.read_text()
    assert UNLOCK not in text
    for paper in bench.paper:
        assert paper.reveal_str().split()[3] not in text


@pytest.mark.parametrize("kind", [SecretKind.ADMIN, SecretKind.BACKUP])
def test_admin_and_backup_rotate_and_verify(
    provisioned: EmbeddedEmulator, tmp_path: Path, kind: SecretKind
) -> None:
    bench = make_bench(provisioned, tmp_path)
    rotation, recorder = start(bench, kind, ("Alice", "Bob", "Carol"), 2)  # same roster: new secret anyway
    run.generate(rotation, recorder)
    distribute(bench, rotation, recorder)
    run.apply(rotation, recorder, bench.client, admin=bench.admin)
    new = combine_shares([collect(kind, [p]).shares[0] for p in bench.paper[:2]])
    if kind is SecretKind.ADMIN:
        start_session(bench.client, Credentials("admin", new))  # the new admin passphrase works
        with pytest.raises(AuthError):
            bench.client.check_admin(Credentials("admin", Secret(ADMIN)))
    else:
        bench.client.set_backup_passphrase(bench.admin, Secret(new.reveal()), current=new)
        with pytest.raises(AuthError):
            bench.client.set_backup_passphrase(bench.admin, Secret(BACKUP), current=Secret(BACKUP))


@pytest.mark.parametrize(
    ("roster", "k", "why"),
    [
        (("Bob", "Carol"), 3, "cannot be met"),
        (("Bob", "Carol", "Dave"), 1, "one custodian alone"),
        (("Bob", "Carol", "bob"), 2, "more than once"),
        (("Bob",), 2, "at least two"),
        (("Bob", "C4rol"), 2, "not a usable custodian name"),
    ],
)
def test_bad_roster_refused_before_anything(
    provisioned: EmbeddedEmulator, tmp_path: Path, roster: tuple[str, ...], k: int, why: str
) -> None:
    bench = make_bench(provisioned, tmp_path)
    with pytest.raises(InputError, match=why):
        start(bench, roster=roster, threshold=k)
    assert not bench.journal.path.exists() or bench.journal.entries() == []


def test_wrong_mixed_and_short_quorums_refused(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    bench = make_bench(provisioned, tmp_path)
    unlock = bench.old_paper(SecretKind.UNLOCK)
    admin = bench.old_paper(SecretKind.ADMIN)
    # A share of another secret, in the unlock quorum: refused as entered.
    collector = ShareCollector(SecretKind.UNLOCK)
    collector.add(unlock["Alice"])
    with pytest.raises(InputError, match="admin passphrase"):
        collector.add(admin["Bob"])
    # Too few shares.
    with pytest.raises(InputError, match="not complete"):
        run.start_rotation(
            SecretKind.UNLOCK,
            collector,
            ("Bob", "Carol"),
            2,
            bench.client,
            admin=bench.admin,
            journal=bench.journal,
            device_id=DEVICE_ID,
        )
    # A complete quorum of a set the device does not use: refused by the device check, nothing generated.
    from hsmconsole.custody.split import split_secret

    stale = split_secret(Secret("not-the-unlock-passphrase"), threshold=2, count=2, kind=SecretKind.UNLOCK)
    with pytest.raises(InputError, match="does not accept"):
        run.start_rotation(
            SecretKind.UNLOCK,
            collect(SecretKind.UNLOCK, [encode_share(s) for s in stale]),
            ("Bob", "Carol"),
            2,
            bench.client,
            admin=bench.admin,
            journal=bench.journal,
            device_id=DEVICE_ID,
        )
    assert [e.event.action for e in bench.journal.entries()] == ["rotation.refused"]
    assert read_rotations(bench.journal, DEVICE_ID) == []


def test_second_rotation_refused_while_one_is_open(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    bench = make_bench(provisioned, tmp_path)
    rotation, recorder = start(bench)
    run.generate(rotation, recorder)
    rotation.wipe()  # the console was killed here
    with pytest.raises(StateError, match="did not finish"):
        start(bench)


def test_unlock_rotation_without_admin_session_sends_nothing(
    provisioned: EmbeddedEmulator, tmp_path: Path
) -> None:
    bench = make_bench(provisioned, tmp_path)
    paper = bench.old_paper(SecretKind.UNLOCK)
    with pytest.raises(StateError, match="admin session"):
        run.start_rotation(
            SecretKind.UNLOCK,
            collect(SecretKind.UNLOCK, [paper["Alice"], paper["Bob"]]),
            ("Bob", "Carol"),
            2,
            bench.client,
            admin=None,
            journal=bench.journal,
            device_id=DEVICE_ID,
        )
    bench.client.set_unlock_passphrase(bench.admin, Secret(UNLOCK), Secret(UNLOCK))  # unchanged
